"""RFM quintiles within the workspace and the named segments."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.db import Database
from bot.retention.facts import load_facts
from bot.retention.rfm import (
    SEGMENT_NO_PURCHASES,
    cached_cutoffs,
    compute_cutoffs,
    compute_workspace_cutoffs,
    score_account,
    segment_for,
    store_cutoffs,
    workspace_cutoffs,
)
from models import RfmCutoffs
from tests.support import factories as f

AS_OF = date(2026, 6, 15)
NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("r", "f_", "m", "segment"),
    [
        (5, 5, 5, "Champions"),
        (4, 4, 4, "Champions"),
        (3, 5, 5, "Loyal"),
        (5, 2, 3, "Potential loyalists"),
        (5, 1, 1, "New customers"),
        (4, 1, 1, "Promising"),
        (3, 2, 3, "Need attention"),
        (3, 1, 1, "About to sleep"),
        (1, 5, 5, "Can't lose"),
        (2, 5, 5, "Can't lose"),
        (1, 4, 4, "Can't lose"),
        (2, 3, 4, "At risk"),
        (1, 3, 3, "At risk"),
        (2, 1, 2, "Hibernating"),
        (1, 1, 2, "Lost"),
        (1, 1, 1, "Lost"),
    ],
)
def test_segment_names(r, f_, m, segment) -> None:
    assert segment_for(r, f_, m) == segment


def test_every_score_combination_has_a_segment() -> None:
    segments = {
        segment_for(r, f_, m) for r in range(1, 6) for f_ in range(1, 6) for m in range(1, 6)
    }
    assert {"Champions", "Loyal", "At risk", "Can't lose", "Hibernating", "Lost"} <= segments


def _workspace(db: Database, n: int = 10) -> list[int]:
    """Account i (1..n) last bought i*20 days ago, i orders of i*100 each: higher i is worse
    on recency and better on frequency and value."""
    ids = []
    with db.transaction() as session:
        for i in range(1, n + 1):
            acct = f.account(session, name=f"Quintile {i}")
            for k in range(i):
                f.order(session, acct, AS_OF - timedelta(days=i * 20 + k * 7), i * 100)
            ids.append(acct.id)
        f.account(session, name="Never bought")
    return ids


def test_quintiles_split_the_workspace_into_fifths(db: Database) -> None:
    ids = _workspace(db, 10)
    with db.session() as session:
        facts = load_facts(session=session, as_of=AS_OF)
    cutoffs = compute_cutoffs(facts, as_of=AS_OF)
    assert cutoffs.population == 10
    scores = [score_account(facts[i], cutoffs=cutoffs, as_of=AS_OF) for i in ids]
    assert [s.recency for s in scores] == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert [s.frequency for s in scores] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert [s.monetary for s in scores] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert scores[0].segment == "New customers"
    assert scores[-1].segment == "Can't lose"


def test_ties_share_a_score(db: Database) -> None:
    with db.transaction() as session:
        for _i in range(6):
            acct = f.account(session)
            f.order(session, acct, "2026-06-01", 500)
    with db.session() as session:
        facts = load_facts(session=session, as_of=AS_OF)
    cutoffs = compute_cutoffs(facts, as_of=AS_OF)
    assert len({score_account(x, cutoffs=cutoffs, as_of=AS_OF) for x in facts.values()}) == 1


def test_accounts_without_orders_have_their_own_segment(db: Database) -> None:
    _workspace(db, 5)
    with db.session() as session:
        facts = load_facts(session=session, as_of=AS_OF)
    never = next(x for x in facts.values() if x.name == "Never bought")
    rfm = score_account(never, cutoffs=compute_cutoffs(facts, as_of=AS_OF), as_of=AS_OF)
    assert rfm.segment == SEGMENT_NO_PURCHASES
    assert (rfm.recency, rfm.frequency, rfm.monetary) == (0, 0, 0)


def test_cutoffs_are_cached_per_day(db: Database) -> None:
    _workspace(db, 5)
    with db.transaction() as session:
        first = workspace_cutoffs(session=session, as_of=AS_OF, now=NOW)
    with db.session() as session:
        assert session.get(RfmCutoffs, AS_OF) is not None
        assert session.get(RfmCutoffs, AS_OF + timedelta(days=1)) is None
        assert workspace_cutoffs(session=session, as_of=AS_OF, now=NOW) == first


def test_concurrent_first_lookups_of_the_day_both_get_cut_points(db: Database) -> None:
    """Two requests computing the same day's cut points at once: neither fails."""
    import threading

    _workspace(db, 5)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def compute() -> None:
        try:
            with db.session() as session:
                barrier.wait(timeout=5)
                results.append(workspace_cutoffs(session=session, as_of=AS_OF, now=NOW))
                session.commit()
        except Exception as error:  # the assertion below reports it
            errors.append(error)

    threads = [threading.Thread(target=compute) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors
    assert len(results) == 2 and results[0] == results[1]


def test_cut_points_computed_in_a_read_only_session_are_kept(db: Database) -> None:
    """A status card reads without committing; its cut points must still be cached, or
    every card would scan the workspace again."""
    _workspace(db, 5)
    with db.session() as session:  # never committed
        workspace_cutoffs(session=session, as_of=AS_OF, now=NOW)
    with db.session() as session:
        assert session.get(RfmCutoffs, AS_OF) is not None


def test_a_read_caches_cut_points_in_a_short_write_of_its_own(db: Database) -> None:
    _workspace(db, 5)
    with db.session() as session:
        first = workspace_cutoffs(session=session, as_of=AS_OF, now=NOW)
        session.rollback()  # the caller's read ends without a commit: the cache stays
    with db.session() as session:
        assert cached_cutoffs(session=session, as_of=AS_OF) == first


def test_a_busy_sqlite_database_leaves_the_cache_empty_and_the_answer_stands(
    sqlite_db: Database,
) -> None:
    """Caching from a read waits CACHE_LOCK_WAIT_MS at most for another writer's lock."""
    import time

    _workspace(sqlite_db, 5)
    with sqlite_db.transaction() as holder:
        holder.add(RfmCutoffs(as_of=AS_OF - timedelta(days=9), payload="{}", computed_at=NOW))
        holder.flush()  # holds the write lock until the end of this block
        with sqlite_db.session() as session:
            began = time.monotonic()
            cutoffs = workspace_cutoffs(session=session, as_of=AS_OF, now=NOW)
            waited = time.monotonic() - began
    assert cutoffs.population > 0
    assert waited < 10  # not the 30 s an ordinary write waits
    with sqlite_db.session() as session:
        assert cached_cutoffs(session=session, as_of=AS_OF) is None


def test_an_explicit_unit_of_work_computes_in_a_read_and_stores_in_a_write(db: Database) -> None:
    _workspace(db, 5)
    with db.session() as session:
        assert cached_cutoffs(session=session, as_of=AS_OF) is None
        cutoffs = compute_workspace_cutoffs(session=session, as_of=AS_OF)
        assert session.get(RfmCutoffs, AS_OF) is None  # computing writes nothing
    with db.transaction() as session:
        store_cutoffs(session=session, cutoffs=cutoffs, as_of=AS_OF, now=NOW)
        store_cutoffs(session=session, cutoffs=cutoffs, as_of=AS_OF, now=NOW)  # twice: fine
    with db.session() as session:
        assert cached_cutoffs(session=session, as_of=AS_OF) == cutoffs
        assert workspace_cutoffs(session=session, as_of=AS_OF, now=NOW) == cutoffs


def test_the_card_and_the_report_cache_the_same_cut_points(db: Database) -> None:
    """The day's cut points are cached once for every surface, so whichever computes
    them first (a card, a reminder run, `rebuy report`) must compute the same ones: the
    live accounts' buyers, not an account archived in the CRM."""
    from sqlalchemy import update

    from bot.retention.plain_sql import session_run
    from bot.retention.report_sql import ReportQuery
    from models import Account

    _workspace(db, 10)
    with db.transaction() as session:
        gone = f.account(session, name="Archived Big Buyer")
        for k in range(12):
            f.order(session, gone, AS_OF - timedelta(days=3 + k), 90_000)
        session.execute(update(Account).where(Account.id == gone.id).values(archived_at=NOW))
    with db.session() as session:
        card = compute_workspace_cutoffs(session=session, as_of=AS_OF)
        run, sql = session_run(session)
        report = ReportQuery(run, sql, as_of=AS_OF, now=NOW).compute_cutoffs()
        live = compute_cutoffs(load_facts(session=session, as_of=AS_OF), as_of=AS_OF)
    assert card == report == live
    assert card.population == 10
