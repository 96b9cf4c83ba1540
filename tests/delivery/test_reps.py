"""Linking Slack users to reps."""

from __future__ import annotations

from sqlmodel import select

from bot.db import Database
from bot.retention.reps import link_rep
from models import Rep, Touch
from tests.support import factories as f
from tests.support.factories import NOW


def test_linking_counts_earlier_touches_for_the_rep(db: Database) -> None:
    with db.transaction() as session:
        rep = f.rep(session, email="ana@example.com")
        acct = f.account(session, owner_id=rep.id)
        f.touch(session, acct, "2026-06-10", slack_user_id="UANA")  # before Ana was linked
        f.touch(session, acct, "2026-06-11", slack_user_id="UOTHER")
    with db.transaction() as session:
        link_rep(
            session=session,
            email="ANA@example.com",
            slack_user_id="UANA",
            tz="Europe/Berlin",
            name="Ana",
            now=NOW,
        )
    with db.session() as session:
        touches = {t.slack_user_id: t.rep_id for t in session.exec(select(Touch))}
    assert touches == {"UANA": rep.id, "UOTHER": None}


def test_a_new_slack_user_gets_a_new_dm_channel(db: Database) -> None:
    with db.transaction() as session:
        f.rep(session, email="ana@example.com", slack_user_id="U1", dm_channel_id="DU1")
        f.rep(session, email="old@example.com", slack_user_id="U2", dm_channel_id="DU2")
    with db.transaction() as session:
        # Ana moves to another Slack account; U2 now belongs to her, not to the old rep.
        link_rep(
            session=session,
            email="ana@example.com",
            slack_user_id="U2",
            tz=None,
            name=None,
            now=NOW,
        )
    with db.session() as session:
        reps = {r.email: (r.slack_user_id, r.dm_channel_id) for r in session.exec(select(Rep))}
    assert reps == {"ana@example.com": ("U2", None), "old@example.com": (None, None)}
