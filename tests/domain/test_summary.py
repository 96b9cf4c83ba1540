"""The per-account summary always equals a recomputation from the orders, and the report
read from it equals the report recomputed from every order (CDNOW and synthetic data)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.db import Database
from bot.retention.facts import day_start, load_facts, months_back
from bot.retention.importer import import_csv
from bot.retention.report import read_report, recency_report, recomputed_report
from bot.retention.report_command import open_database
from bot.retention.rfm import Cutoffs, compute_cutoffs
from bot.retention.summary import refresh_summary
from bot.retention.windows import window_edges
from models import Account, AccountSummary, Order, RfmCutoffs
from tests.support import factories as f
from tests.support.orders import cdnow_rows, load_orders
from tests.support.summaries import expected_summaries, stored_summaries

NOW = f.NOW
TIERS = ("key", "mid", "small")


# --- the summary equals a recomputation after any sequence of writes --------------------

ACCOUNT_IDS = ("A1", "A2", "A3")
amounts = st.sampled_from(["0", "-40.10", "0.10", "0.20", "-0.30", "99.99", "1250", "-1250"])
order_rows = st.tuples(
    st.sampled_from(ACCOUNT_IDS),
    st.integers(min_value=0, max_value=900),  # days before NOW
    st.sampled_from([0, 9, 23]),  # hour: several rows on one day
    amounts,
    st.integers(min_value=1, max_value=12),  # order id: a re-import changes an order
)
imports = st.lists(st.lists(order_rows, min_size=1, max_size=8), min_size=1, max_size=4)


def _write_orders(path: Path, rows) -> None:
    lines = ["account_external_id,ordered_at,amount,order_id"]
    seen = set()
    for account, days, hour, amount, number in rows:
        if (account, number) in seen:  # one file never names an order twice
            continue
        seen.add((account, number))
        at = datetime.combine(NOW.date() - timedelta(days=days), time(hour), tzinfo=UTC)
        lines.append(f"{account},{at.isoformat()},{amount},{account}-{number}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=imports)
def test_summary_equals_a_recomputation_after_imports(
    db: Database, tmp_path: Path, sequence
) -> None:
    with db.transaction() as session:
        session.execute(sa.delete(Order))
        session.execute(sa.delete(AccountSummary))
        session.execute(sa.delete(RfmCutoffs))
        session.execute(sa.delete(Account))
        for external_id in ACCOUNT_IDS:
            f.account(session, name=f"Account {external_id}", external_id=external_id)
    path = tmp_path / "orders.csv"
    for rows in sequence:
        _write_orders(path, rows)
        with db.transaction() as session:
            import_csv(session=session, kind="orders", path=path, now=NOW, tiers=TIERS)
        with db.session() as session:
            assert stored_summaries(session) == expected_summaries(session, NOW.date())
    # The report read from that summary equals the one recomputed from every order, on
    # the summary's day and on a day whose windows move by the edges' orders.
    for as_of in (NOW.date(), NOW.date() - timedelta(days=40)):
        now = datetime.combine(as_of, time(12), tzinfo=UTC)
        with db.session() as session:
            full = recomputed_report(session=session, now=now, as_of=as_of).to_dict()
            assert recency_report(session=session, now=now, as_of=as_of).to_dict() == full


def test_rebuild_command_and_a_removed_order(db: Database) -> None:
    with db.transaction() as session:
        acct = f.account(session, name="Atlas")
        f.order(session, acct, "2026-01-10", 100)
        f.order(session, acct, "2026-03-01", 50)
        session.execute(sa.delete(Order).where(Order.ordered_at >= f.at("2026-03-01")))
        refresh_summary(session.connection(), None, today=NOW.date())
    with db.session() as session:
        assert stored_summaries(session) == expected_summaries(session, NOW.date())
        assert stored_summaries(session)[acct.id]["occasions"] == 1


# --- window edges ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("as_of", "stored_on"),
    [
        (date(2026, 8, 31), date(2026, 6, 15)),
        (date(2026, 6, 15), date(2026, 8, 31)),
        (date(2026, 6, 15), date(2026, 6, 15)),
        (date(2020, 1, 1), date(2026, 6, 15)),
        (date(2026, 3, 31), date(2026, 2, 28)),
    ],
)
@pytest.mark.parametrize("months", [6, 12, 24])
def test_window_edges_move_one_window_onto_the_other(as_of, stored_on, months) -> None:
    def window(day: date) -> set[date]:
        start = months_back(day, months)
        return {start + timedelta(days=n) for n in range((day - start).days + 1)}

    moved = {d: 1 for d in window(stored_on)}
    for start, stop, sign in window_edges(as_of, stored_on, months):
        for n in range((stop - start).days):
            day = start + timedelta(days=n)
            moved[day] = moved.get(day, 0) + sign
    assert {d for d, count in moved.items() if count} == window(as_of)
    assert set(moved.values()) <= {0, 1}


# --- the report from the summary equals the report from every order ---------------------


def _plain_report(db: Database, *, now: datetime, as_of: date) -> dict:
    """The report as `rebuy report` reads it: the driver's own connection, no ORM."""
    database = open_database(db.engine.url.render_as_string(hide_password=False))
    try:
        return read_report(
            database.run,
            database.sql,
            now=now,
            as_of=as_of,
            orm=lambda: pytest.fail("no ORM session is needed here"),
            store_cutoffs=database.store_cutoffs(now),
        ).to_dict()
    finally:
        database.close()


def _same_report(db: Database, as_of: date) -> None:
    """The report read from the summary (cut points computed in SQL, then read back from
    the cache; through the ORM session's connection and through the driver's own) equals
    the report recomputed from every order in Python."""
    now = datetime.combine(as_of, time(12), tzinfo=UTC)
    with db.session() as session:
        full = recomputed_report(session=session, now=now, as_of=as_of).to_dict()
        assert session.get(RfmCutoffs, as_of) is None
        fast = recency_report(session=session, now=now, as_of=as_of).to_dict()
    assert fast == full
    with db.session() as session:
        # The fast path cached the cut points it computed in SQL: those of rfm.py.
        stored = Cutoffs.from_json(session.get(RfmCutoffs, as_of).payload)
        facts = {
            i: fact
            for i, fact in load_facts(session=session, as_of=as_of).items()
            if fact.created_at < day_start(as_of + timedelta(days=1)) or fact.orders_count
        }
        expected = compute_cutoffs(facts, as_of=as_of)
        assert (stored.recency, stored.frequency) == (expected.recency, expected.frequency)
        assert stored.monetary == pytest.approx(expected.monetary, abs=1e-9)
        assert stored.population == expected.population
        cached = recency_report(session=session, now=now, as_of=as_of).to_dict()
    assert cached == full
    assert _plain_report(db, now=now, as_of=as_of) == full
    with db.transaction() as session:
        session.execute(sa.delete(RfmCutoffs))
    assert _plain_report(db, now=now, as_of=as_of) == full
    assert set(full) >= {"tactic_win_rates", "accounts_without_owner"}


def test_report_from_the_summary_equals_the_full_recomputation_on_cdnow(db: Database) -> None:
    load_orders(db, cdnow_rows(), today=date(1998, 7, 15))
    # The summary's day, days after it and before it (edges), and a replayed past.
    for as_of in (date(1998, 7, 15), date(1998, 6, 30), date(1999, 1, 31), date(1997, 9, 30)):
        _same_report(db, as_of)


def test_report_from_the_summary_equals_the_full_recomputation_on_synthetic(db) -> None:
    rng = random.Random(13)
    rows = []
    for n in range(1500):
        customer = f"S{n:05d}"
        start = date(2023, 1, 1) + timedelta(days=rng.randint(0, 900))
        day = start
        for _ in range(rng.randint(1, 14)):
            day += timedelta(days=rng.randint(0, 120))
            if day > date(2026, 6, 14):
                break
            at = datetime.combine(day, time(rng.randint(0, 23)), tzinfo=UTC)
            value = Decimal(rng.randint(-3000, 90000)) / 100
            rows.append((customer, at, value))
            if rng.random() < 0.1:  # a credit or a free sample on the same day
                rows.append((customer, at, -value if rng.random() < 0.5 else Decimal(0)))
    load_orders(db, rows, today=date(2026, 6, 15))
    for as_of in (date(2026, 6, 15), date(2026, 7, 31), date(2026, 2, 28), date(2025, 3, 31)):
        _same_report(db, as_of)
