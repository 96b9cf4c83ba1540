"""Signals, schedules and health, at their edges."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.db import Database
from bot.retention.facts import AccountFacts, load_facts, median_gap, months_back
from bot.retention.signals import (
    PENALTIES,
    compute_signals,
    dormancy,
    health_of,
    touch_schedule,
)
from tests.support import factories as f

CADENCE = {"key": 14, "mid": 30, "small": 60}
AS_OF = date(2026, 6, 15)


def facts_of(db: Database, account_id: int, as_of: date = AS_OF) -> AccountFacts:
    with db.session() as session:
        return load_facts(
            session=session, as_of=as_of, account_ids=[account_id], with_order_days=True
        )[account_id]


def signals_of(db: Database, account_id: int, as_of: date = AS_OF) -> dict[str, str]:
    fact = facts_of(db, account_id, as_of)
    schedule = touch_schedule(fact, as_of=as_of, tier_cadence=CADENCE)
    return {s.name: s.reason for s in compute_signals(fact, as_of=as_of, schedule=schedule)}


def bare(**fields) -> AccountFacts:
    from datetime import UTC, datetime

    base = dict(
        id=1,
        external_id="A",
        name="A",
        tier="mid",
        owner_id=None,
        annual_value=None,
        cadence_days=None,
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    base.update(fields)
    return AccountFacts(**base)


# --- dormancy: calendar months back from the as-of day -----------------------------------


@pytest.mark.parametrize(
    ("last_order", "expected"),
    [
        ("2025-12-15", None),  # exactly 6 months back counts as bought within 6 months
        ("2025-12-14", "dormant_6m"),
        ("2025-06-15", "dormant_6m"),  # exactly 12 months back: still only the 6m bucket
        ("2025-06-14", "dormant_12m"),
        ("2024-12-15", "dormant_12m"),
        ("2024-12-14", "dormant_18m"),
        ("2026-06-15", None),
    ],
)
def test_dormancy_buckets_use_calendar_months(db: Database, last_order, expected) -> None:
    with db.transaction() as session:
        acct = f.account(session)
        f.order(session, acct, last_order)
    names = set(signals_of(db, acct.id))
    dormant = {n for n in names if n.startswith("dormant")}
    assert dormant == ({expected} if expected else set())


def test_month_end_arithmetic() -> None:
    assert months_back(date(2026, 8, 31), 6) == date(2026, 2, 28)
    assert months_back(date(2024, 8, 31), 6) == date(2024, 2, 29)


def test_no_orders_at_all_counts_as_dormant_18m(db: Database) -> None:
    with db.transaction() as session:
        acct = f.account(session)
    reasons = signals_of(db, acct.id)
    assert "dormant_18m" in reasons
    assert "No order on record" in reasons["dormant_18m"]


def test_orders_after_the_as_of_day_are_ignored(db: Database) -> None:
    with db.transaction() as session:
        acct = f.account(session)
        f.order(session, acct, "2025-01-01")
        f.order(session, acct, "2026-06-16")  # tomorrow, seen from AS_OF
    assert "dormant_12m" in signals_of(db, acct.id)
    assert "dormant_12m" not in signals_of(db, acct.id, as_of=date(2026, 6, 16))


# --- declining ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recent", "before", "declining"),
    [
        (499, 1000, True),
        (500, 1000, False),  # exactly half is not "under half"
        (0, 1000, True),
        (0, 0, False),  # nothing before: nothing to decline from
        (2000, 1000, False),
    ],
)
def test_declining_compares_the_last_6_months_with_the_6_before(
    db: Database, recent, before, declining
) -> None:
    with db.transaction() as session:
        acct = f.account(session)
        if before:
            f.order(session, acct, "2025-09-01", before)
        if recent:
            f.order(session, acct, "2026-05-01", recent)
        f.order(session, acct, "2026-06-01", 0)  # keeps it out of dormancy
    reasons = signals_of(db, acct.id)
    assert ("declining" in reasons) is declining
    if declining:
        assert "last 6 months" in reasons["declining"]


def test_declining_window_edges(db: Database) -> None:
    # 2025-12-15 is the first day of "the last 6 months"; 2025-06-15 the first of the 6 before.
    with db.transaction() as session:
        acct = f.account(session)
        f.order(session, acct, "2025-06-15", 1000)  # previous window, first day
        f.order(session, acct, "2025-06-14", 5000)  # older than 12 months: ignored
        f.order(session, acct, "2025-12-15", 400)  # recent window, first day
    fact = facts_of(db, acct.id)
    assert fact.value_prev_6m == 1000
    assert fact.value_last_6m == 400
    assert "declining" in signals_of(db, acct.id)


# --- off rhythm -----------------------------------------------------------------------


def _orders_every(session, acct, last: date, gap: int, count: int) -> None:
    for i in range(count):
        f.order(session, acct, last - timedelta(days=gap * i))


@pytest.mark.parametrize(("days_since", "off"), [(45, False), (46, True), (30, False)])
def test_off_rhythm_is_one_and_a_half_median_gaps(db: Database, days_since, off) -> None:
    with db.transaction() as session:
        acct = f.account(session)
        _orders_every(session, acct, AS_OF - timedelta(days=days_since), 30, 4)
    assert ("off_rhythm" in signals_of(db, acct.id)) is off


def test_off_rhythm_needs_three_orders(db: Database) -> None:
    with db.transaction() as session:
        acct = f.account(session)
        _orders_every(session, acct, AS_OF - timedelta(days=100), 10, 2)
    assert "off_rhythm" not in signals_of(db, acct.id)


def test_median_gap_ignores_same_day_orders() -> None:
    days = [date(2026, 1, 1), date(2026, 1, 11), date(2026, 1, 31)]
    assert median_gap([day.toordinal() for day in days]) == 15


# --- touches, cadence, snoozes ----------------------------------------------------------


def test_next_touch_is_last_touch_plus_tier_cadence(db: Database) -> None:
    with db.transaction() as session:
        acct = f.account(session, tier="key")
        f.touch(session, acct, "2026-06-01")
    schedule = touch_schedule(facts_of(db, acct.id), as_of=AS_OF, tier_cadence=CADENCE)
    assert schedule.next_touch_due == date(2026, 6, 15)
    assert schedule.days_overdue == 0
    assert "touch_overdue" not in signals_of(db, acct.id)  # due today is not overdue
    assert "touch_overdue" in signals_of(db, acct.id, as_of=date(2026, 6, 16))


def test_account_cadence_overrides_the_tier(db: Database) -> None:
    with db.transaction() as session:
        acct = f.account(session, tier="small", cadence_days=7)
        f.touch(session, acct, "2026-06-01")
    schedule = touch_schedule(facts_of(db, acct.id), as_of=AS_OF, tier_cadence=CADENCE)
    assert (schedule.next_touch_due, schedule.cadence_source) == (date(2026, 6, 8), "account")
    assert schedule.days_overdue == 5  # working days: 9-12 and 15 June


def test_without_touches_an_account_is_due_but_never_overdue(db: Database) -> None:
    with db.transaction() as session:
        acct = f.account(session, tier="mid")
        f.order(session, acct, "2025-05-01")
    schedule = touch_schedule(facts_of(db, acct.id), as_of=AS_OF, tier_cadence=CADENCE)
    # No history: the order a year ago does not start a touch clock; without a backlog
    # plan the first touch is due the day the account arrived.
    assert (schedule.next_touch_due, schedule.days_overdue) == (f.NOW.date(), 0)
    assert not schedule.touched and not schedule.overdue
    assert "touch_overdue" not in signals_of(db, acct.id)


def test_snooze_pushes_the_due_date_later_only(db: Database) -> None:
    with db.transaction() as session:
        acct = f.account(session, tier="mid")
        f.touch(session, acct, "2026-05-01")
        f.snooze(session, acct, "2026-06-20")
        other = f.account(session, tier="mid")
        f.touch(session, other, "2026-06-10")
        f.snooze(session, other, "2026-06-12")  # earlier than the cadence: no effect
    snoozed = touch_schedule(facts_of(db, acct.id), as_of=AS_OF, tier_cadence=CADENCE)
    assert snoozed.next_touch_due == date(2026, 6, 20)
    assert snoozed.snoozed_until == date(2026, 6, 20)
    assert "touch_overdue" not in signals_of(db, acct.id)
    plain = touch_schedule(facts_of(db, other.id), as_of=AS_OF, tier_cadence=CADENCE)
    assert plain.next_touch_due == date(2026, 7, 10)
    assert plain.snoozed_until is None


# --- contacts and plans -----------------------------------------------------------------


@pytest.mark.parametrize(("contacts", "single"), [(0, True), (1, True), (2, False)])
def test_single_threaded_below_two_contacts(db: Database, contacts, single) -> None:
    with db.transaction() as session:
        acct = f.account(session)
        for _ in range(contacts):
            f.contact(session, acct)
    assert ("single_threaded" in signals_of(db, acct.id)) is single


def test_no_plan_until_a_plan_exists(db: Database) -> None:
    with db.transaction() as session:
        acct = f.account(session)
    assert "no_plan" in signals_of(db, acct.id)
    with db.transaction() as session:
        f.plan(session, acct)
    assert "no_plan" not in signals_of(db, acct.id)


# --- health -----------------------------------------------------------------------------


def test_a_well_kept_account_is_healthy(db: Database) -> None:
    with db.transaction() as session:
        acct = f.account(session)
        for month in range(1, 6):
            f.order(session, acct, date(2026, month, 10), 1000)
        f.contact(session, acct)
        f.contact(session, acct)
        f.plan(session, acct)
        f.touch(session, acct, "2026-06-10")
    fact = facts_of(db, acct.id)
    schedule = touch_schedule(fact, as_of=AS_OF, tier_cadence=CADENCE)
    health = health_of(compute_signals(fact, as_of=AS_OF, schedule=schedule))
    assert (health.score, health.band) == (100, "healthy")
    assert health.reasons


def test_health_subtracts_each_signal_with_its_reason(db: Database) -> None:
    with db.transaction() as session:
        acct = f.account(session)
        f.order(session, acct, "2024-01-01", 1000)
        f.touch(session, acct, "2024-02-01")
    fact = facts_of(db, acct.id)
    schedule = touch_schedule(fact, as_of=AS_OF, tier_cadence=CADENCE)
    signals = compute_signals(fact, as_of=AS_OF, schedule=schedule)
    health = health_of(signals)
    assert {s.name for s in signals} == {
        "dormant_18m",
        "touch_overdue",
        "single_threaded",
        "no_plan",
    }
    assert health.score == 0 or health.score == 100 - sum(s.penalty for s in signals)
    assert health.band == "at risk"
    assert len(health.reasons) == len(signals)
    assert any("18 months" in reason for reason in health.reasons)


@given(
    last=st.one_of(st.none(), st.dates(date(2020, 1, 1), AS_OF)),
    contacts=st.integers(0, 5),
    has_plan=st.booleans(),
    prev=st.floats(0, 1e6),
    recent=st.floats(0, 1e6),
)
def test_health_is_always_between_0_and_100(last, contacts, has_plan, prev, recent) -> None:
    from datetime import UTC, datetime, time

    fact = bare(
        last_order_at=datetime.combine(last, time(12), tzinfo=UTC) if last else None,
        orders_count=1 if last else 0,
        contacts_count=contacts,
        has_plan=has_plan,
        value_prev_6m=prev,
        value_last_6m=recent,
    )
    schedule = touch_schedule(fact, as_of=AS_OF, tier_cadence=CADENCE)
    signals = compute_signals(fact, as_of=AS_OF, schedule=schedule)
    health = health_of(signals)
    assert 0 <= health.score <= 100
    assert health.score == max(0, 100 - sum(s.penalty for s in signals))
    assert sum(1 for s in signals if s.name.startswith("dormant")) <= 1
    assert all(s.reason.strip() for s in signals)
    assert (dormancy(fact, as_of=AS_OF) is None) == (
        last is not None and last >= months_back(AS_OF, 6)
    )
    assert set(PENALTIES) >= {s.name for s in signals}
