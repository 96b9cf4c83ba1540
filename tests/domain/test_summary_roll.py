"""The upkeep's roll of the purchase summary's windows to today writes exactly what a
refresh as of today would, and the day's reads then find the windows in place."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.db import Database
from bot.retention import summary_roll
from bot.retention.facts import load_facts
from bot.retention.summary import refresh_summary
from bot.retention.summary_roll import roll_windows
from models import Account, AccountSummary, Order
from tests.support import factories as f
from tests.support.summaries import expected_summaries, stored_summaries

STORED_ON = date(2026, 2, 28)  # a month end: the windows' starts move unevenly after it

order_rows = st.tuples(
    st.integers(min_value=0, max_value=3),  # which account
    st.integers(min_value=-800, max_value=400),  # days from STORED_ON (some after the roll)
    st.sampled_from([0, 11, 23]),  # several rows on one day
    st.sampled_from(["0", "-40.10", "0.10", "99.99", "1250", "-1250"]),
)


def _store(db: Database, rows, *, stored_on: date) -> list[int]:
    with db.transaction() as session:
        session.execute(sa.delete(AccountSummary))
        session.execute(sa.delete(Order))
        session.execute(sa.delete(Account))
        ids = [f.account(session, name=f"Account {n}").id for n in range(4)]
        for n, (which, days, hour, amount) in enumerate(rows):
            at = datetime.combine(stored_on + timedelta(days=days), time(hour), tzinfo=UTC)
            session.add(
                Order(
                    account_id=ids[which], ordered_at=at, amount=Decimal(amount), order_key=str(n)
                )
            )
        session.flush()
        refresh_summary(session.connection(), None, today=stored_on)
    return ids


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(order_rows, min_size=1, max_size=25),
    later=st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=3),
)
def test_a_roll_writes_what_a_refresh_as_of_that_day_would(
    db: Database, monkeypatch: pytest.MonkeyPatch, rows, later
) -> None:
    monkeypatch.setattr(summary_roll, "CHUNK", 3)  # several chunks from four accounts
    _store(db, rows, stored_on=STORED_ON)
    today = STORED_ON
    for days in sorted(later):  # one roll after another, days apart
        today = STORED_ON + timedelta(days=days)
        roll_windows(db, today=today)
        with db.session() as session:
            assert stored_summaries(session) == expected_summaries(session, today)
    assert roll_windows(db, today=today) == 0  # nothing left to move


def test_rows_of_several_days_are_all_moved_and_later_days_left_alone(db: Database) -> None:
    with db.transaction() as session:
        old, recent, ahead = (f.account(session, name=n) for n in ("Old", "Recent", "Ahead"))
        for acct in (old, recent, ahead):
            f.order(session, acct, "2025-12-20", 300)
            f.order(session, acct, "2026-06-01", 40)
        session.flush()
        refresh_summary(session.connection(), [old.id], today=date(2026, 1, 5))
        refresh_summary(session.connection(), [recent.id], today=date(2026, 6, 10))
        refresh_summary(session.connection(), [ahead.id], today=date(2026, 6, 20))

    assert roll_windows(db, today=date(2026, 6, 15)) == 2

    with db.session() as session:
        stored = stored_summaries(session)
        expected = expected_summaries(session, date(2026, 6, 15))
        assert stored[old.id] == expected[old.id]
        assert stored[recent.id] == expected[recent.id]
        # A row stored as of a later day (another writer's clock) is not moved back.
        assert stored[ahead.id]["windows_on"] == date(2026, 6, 20)
        assert stored[old.id]["value_6m_cents"] == 34000  # both orders within 6 months


def test_after_a_roll_a_card_reads_no_order_at_the_window_edges(db: Database) -> None:
    with db.transaction() as session:
        acct = f.account(session, name="Atlas")
        f.order(session, acct, "2025-11-10", 500)
        f.order(session, acct, "2026-05-20", 120)
        session.flush()
        refresh_summary(session.connection(), None, today=date(2026, 5, 1))
    today = date(2026, 6, 15)

    def order_reads() -> tuple[int, float]:
        statements: list[str] = []

        def seen(conn, cursor, statement, *args) -> None:
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", seen)
        try:
            with db.session() as session:
                facts = load_facts(
                    session=session, as_of=today, account_ids=[acct.id], summary=True
                )
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", seen)
        return sum('FROM "order"' in s for s in statements), facts[acct.id].value_last_6m

    before, value_before = order_reads()
    roll_windows(db, today=today)
    after, value_after = order_reads()
    assert before > 0 and after == 0
    assert value_before == value_after == 120.0  # the November order left the window
