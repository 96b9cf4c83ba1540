from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from bot.db import Database
from bot.demo import DemoSummary, DemoWorkspaceNotEmpty, seed_demo
from bot.retention.facts import AccountFacts, load_facts
from bot.retention.signals import SIGNAL_NAMES, TouchSchedule, compute_signals, touch_schedule
from models import Account, AccountPlan, Contact, Order, Rep, Snooze, Touch
from tests.support import factories as f

NOW = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)
TIER_CADENCE = {"key": 14, "mid": 30, "small": 60}


def _seed(db: Database, *, now: datetime = NOW, seed: int = 7) -> DemoSummary:
    with db.transaction() as session:
        return seed_demo(session=session, now=now, seed=seed)


def _assessed(
    session: Session, *, now: datetime = NOW
) -> list[tuple[AccountFacts, TouchSchedule, set[str]]]:
    as_of = now.date()
    facts = load_facts(session=session, as_of=as_of, with_order_days=True)
    rows = []
    for fact in facts.values():
        schedule = touch_schedule(fact, as_of=as_of, tier_cadence=TIER_CADENCE)
        names = {s.name for s in compute_signals(fact, as_of=as_of, schedule=schedule)}
        rows.append((fact, schedule, names))
    return rows


def _count(session: Session, table) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def _fingerprint(session: Session) -> tuple:
    """Enough of the data that any change in what was generated shows."""
    return (
        session.exec(select(Account.external_id, Account.name).order_by(Account.id)).all(),
        session.exec(select(sa.func.sum(Order.amount))).one(),
        session.exec(select(Order.order_key, Order.ordered_at).order_by(Order.order_key)).all(),
        session.exec(select(Touch.touched_at, Touch.note).order_by(Touch.id)).all(),
        session.exec(select(Contact.email).order_by(Contact.id)).all(),
    )


def test_seed_demo_fills_a_workspace_of_the_expected_size(db: Database) -> None:
    summary = _seed(db)

    assert summary.reps == 3
    assert 35 <= summary.accounts <= 45
    assert 1000 <= summary.orders <= 2000
    assert 40 <= summary.contacts <= 160
    assert 100 <= summary.touches <= 600
    assert 3 <= summary.plans <= 10
    assert 2 <= summary.snoozes <= 5
    assert all(email.endswith("@rebuy-demo.example") for email in summary.rep_emails)
    with db.session() as session:
        assert _count(session, Rep) == summary.reps
        assert _count(session, Account) == summary.accounts
        assert _count(session, Order) == summary.orders
        assert _count(session, Contact) == summary.contacts
        assert _count(session, Touch) == summary.touches
        assert _count(session, AccountPlan) == summary.plans
        assert _count(session, Snooze) == summary.snoozes
        reps = session.exec(select(Rep).order_by(Rep.id)).all()
        assert [rep.email for rep in reps] == summary.rep_emails
        assert all(rep.slack_user_id and rep.tz != "UTC" for rep in reps)


def test_seed_demo_is_deterministic_for_a_seed_and_now(db: Database) -> None:
    fingerprints, summaries = [], []
    for _ in range(2):
        with db.session() as session:
            summaries.append(seed_demo(session=session, now=NOW, seed=7))
            session.flush()
            fingerprints.append(_fingerprint(session))
            session.rollback()

    assert summaries[0] == summaries[1]
    assert fingerprints[0] == fingerprints[1]


def test_every_signal_shows_up_somewhere(db: Database) -> None:
    _seed(db)
    with db.session() as session:
        seen = Counter(name for _, _, names in _assessed(session) for name in names)

    assert set(SIGNAL_NAMES) <= set(seen), f"missing: {set(SIGNAL_NAMES) - set(seen)}"
    # Single-threaded accounts are common in a real book, but not the whole book.
    assert 3 <= seen["single_threaded"] < 20


def test_each_rep_has_a_short_list_of_due_accounts(db: Database) -> None:
    _seed(db)
    with db.session() as session:
        rep_ids = session.exec(select(Rep.id)).all()
        due = Counter(
            fact.owner_id
            for fact, schedule, _ in _assessed(session)
            if schedule.next_touch_due <= NOW.date()
        )

    assert len(rep_ids) == 3
    assert all(3 <= due[rep_id] <= 8 for rep_id in rep_ids), due


@pytest.mark.parametrize(
    "now",
    [datetime(2025, 3, 31, 0, 5, tzinfo=UTC), datetime(2027, 12, 31, 23, 55, tzinfo=UTC)],
)
def test_other_days_and_seeds_keep_the_story(db: Database, now: datetime) -> None:
    summary = _seed(db, now=now, seed=2026)
    with db.session() as session:
        assessed = _assessed(session, now=now)
        latest_order = session.exec(select(sa.func.max(Order.ordered_at))).one()
        latest_touch = session.exec(select(sa.func.max(Touch.touched_at))).one()

    seen = {name for _, _, names in assessed for name in names}
    due = Counter(fact.owner_id for fact, s, _ in assessed if s.next_touch_due <= now.date())
    assert set(SIGNAL_NAMES) <= seen
    assert len(due) == summary.reps and all(3 <= n <= 8 for n in due.values())
    # Everything is dated relative to now: recent, and never in the future.
    assert (now - latest_order).days <= 5
    assert latest_order <= now and latest_touch <= now


def test_account_names_are_unique_even_when_normalised(db: Database) -> None:
    _seed(db)
    with db.session() as session:
        accounts = session.exec(select(Account)).all()

    assert len({a.name for a in accounts}) == len(accounts)
    assert len({a.name_key for a in accounts}) == len(accounts)
    assert len({a.external_id for a in accounts}) == len(accounts)
    names = {a.name for a in accounts}
    # Forgiving look-up has something to show: accents, punctuation, near-twins.
    assert {"Müller & Söhne GmbH", "O'Brien Facilities", "Café Lumière"} <= names
    assert {"Northwind Traders", "Northwind Logistics"} <= names
    assert Counter(a.tier for a in accounts)["key"] < Counter(a.tier for a in accounts)["mid"]


def test_featured_account_is_worth_showing_first(db: Database) -> None:
    summary = _seed(db)
    with db.session() as session:
        assessed = {fact.name: (fact, names) for fact, _, names in _assessed(session)}

    fact, names = assessed[summary.featured_account]
    assert fact.tier == "mid"
    assert {"declining", "single_threaded", "touch_overdue"} <= names


def test_seeding_refuses_a_workspace_that_has_accounts(db: Database) -> None:
    with db.transaction() as session:
        f.account(session, "Existing Customer Inc.")

    with pytest.raises(DemoWorkspaceNotEmpty), db.transaction() as session:
        seed_demo(session=session, now=NOW)
