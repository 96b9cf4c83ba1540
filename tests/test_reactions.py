"""Reactions on reminder messages, in the domain (the HTTP path is in test_reactions_e2e)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.db import Database
from bot.retention.reactions import apply_reaction
from models import ReminderMessage, ReminderRun, Touch
from tests import factories as f
from tests.factories import NOW


def _reminder(db: Database) -> None:
    with db.transaction() as session:
        rep = f.rep(session, slack_user_id="UANA")
        acct = f.account(session, owner_id=rep.id)
        run = ReminderRun(
            rep_id=rep.id, local_date=NOW.date(), status="sent", lease_until=NOW, created_at=NOW
        )
        session.add(run)
        session.flush()
        session.add(
            ReminderMessage(
                run_id=run.id,
                position=1,
                account_id=acct.id,
                tactic_id="ask-why-buying-less",
                channel="DUANA",
                ts="1700000000.000200",
                text="x",
                blocks_json="[]",
            )
        )


def react(db: Database, reaction: str, *, added: bool = True) -> None:
    with db.transaction() as session:
        apply_reaction(
            session=session,
            channel="DUANA",
            ts="1700000000.000200",
            user="UANA",
            reaction=reaction,
            added=added,
            now=NOW + timedelta(minutes=5),
        )


def kinds(db: Database) -> list[str]:
    with db.session() as session:
        return sorted(t.kind for t in session.exec(select(Touch)))


def test_each_reaction_is_its_own_touch_and_removing_one_keeps_the_other(db: Database) -> None:
    _reminder(db)
    react(db, "white_check_mark")
    react(db, "heavy_check_mark")
    react(db, "white_check_mark")  # the same reaction again: nothing new
    assert kinds(db) == ["note", "note"]
    react(db, "heavy_check_mark", added=False)
    assert kinds(db) == ["note"]


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
