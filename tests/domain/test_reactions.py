"""Reactions on reminder messages, in the domain (the HTTP path is in test_reactions_e2e)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from bot.db import Database
from bot.retention.book import leaderboard
from bot.retention.reactions import apply_reaction
from models import Rep, Touch
from tests.support import factories as f
from tests.support.factories import NOW


def _reminder(db: Database) -> None:
    with db.transaction() as session:
        rep = f.rep(session, slack_user_id="UANA")
        acct = f.account(session, owner_id=rep.id)
        f.sent_reminder(
            session,
            rep.id,
            acct.id,
            channel="DUANA",
            ts="1700000000.000200",
            tactic_id="ask-why-buying-less",
        )


def react(db: Database, reaction: str, *, added: bool = True, event_us: int | None = None) -> None:
    with db.transaction() as session:
        apply_reaction(
            session=session,
            channel="DUANA",
            ts="1700000000.000200",
            user="UANA",
            reaction=reaction,
            added=added,
            now=NOW + timedelta(minutes=5),
            event_us=event_us,
        )


def kinds(db: Database) -> list[str]:
    with db.session() as session:
        return sorted(t.kind for t in session.exec(select(Touch)))


def test_two_check_marks_are_one_touch_and_removing_one_keeps_it(db: Database) -> None:
    _reminder(db)
    react(db, "white_check_mark")
    react(db, "heavy_check_mark")
    react(db, "white_check_mark")  # the same reaction again: nothing new
    assert kinds(db) == ["note"]
    react(db, "heavy_check_mark", added=False)  # it logged nothing, so takes nothing back
    assert kinds(db) == ["note"]
    react(db, "white_check_mark", added=False)
    assert kinds(db) == []


def test_a_call_reaction_after_a_check_mark_makes_the_one_touch_a_call(db: Database) -> None:
    _reminder(db)
    react(db, "white_check_mark")
    react(db, "phone")
    react(db, "handshake")
    assert kinds(db) == ["call"]
    with db.session() as session:
        board = leaderboard(session=session, now=NOW + timedelta(hours=1))
    assert [(row.touches, row.accounts) for row in board] == [(1, 1)]
    # A rep no longer in Slack is off the board.
    with db.transaction() as session:
        session.execute(sa.update(Rep).values(active=False))
    with db.session() as session:
        assert leaderboard(session=session, now=NOW + timedelta(hours=1)) == []


def test_a_touch_from_a_reminder_credits_its_tactic(db: Database) -> None:
    _reminder(db)
    react(db, "phone")
    with db.session() as session:
        touch = session.exec(select(Touch)).one()
    assert (touch.kind, touch.source, touch.tactic_id) == (
        "call",
        "reaction",
        "ask-why-buying-less",
    )


def test_removing_the_reaction_that_logged_the_touch_hands_it_to_one_still_there(
    db: Database,
) -> None:
    _reminder(db)
    react(db, "white_check_mark", event_us=1)
    react(db, "heavy_check_mark", event_us=2)
    assert kinds(db) == ["note"]
    react(db, "white_check_mark", added=False, event_us=3)
    assert kinds(db) == ["note"]  # ✔️ is still on the message
    react(db, "heavy_check_mark", added=False, event_us=4)
    assert kinds(db) == []
