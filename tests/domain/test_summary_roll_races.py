"""The upkeep's roll of the summary's windows against the summary's readers and writers
at the same moment (PostgreSQL: READ COMMITTED, row locks)."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
import sqlalchemy as sa

from bot.db import Database
from bot.retention import summary_read
from bot.retention.facts import load_facts
from bot.retention.summary import refresh_summary
from bot.retention.summary_roll import roll_windows
from models import AccountSummary
from tests.support import factories as f
from tests.support.summaries import expected_summaries, stored_summaries

STORED_ON = date(2026, 6, 10)
TODAY = date(2026, 6, 25)  # the December orders have left the 6 months


def _accounts(db: Database, *names: str) -> list[int]:
    with db.transaction() as session:
        accounts = [f.account(session, name=name) for name in names]
        for acct in accounts:
            f.order(session, acct, "2025-12-20", 300)
            f.order(session, acct, "2026-06-01", 40)
        session.flush()
        refresh_summary(session.connection(), None, today=STORED_ON)
        return [acct.id for acct in accounts]


def test_a_whole_book_read_while_the_upkeep_rolls_still_moves_its_windows(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read of many accounts found their edge orders through "the accounts stored on
    # that day" in the summary; on PostgreSQL a roll committed between the read's summary
    # SELECT and its edge query took the accounts out of it, and their windows stayed
    # as of the day stored (the December order still in the 6 months).
    monkeypatch.setattr(summary_read, "NAMED_ACCOUNTS_MAX", 0)  # the whole-book query
    (atlas,) = _accounts(db, "Atlas")
    move = summary_read._move_windows

    def roll_then_move(*args, **kwargs):
        roll_windows(db, today=TODAY)  # the hourly upkeep, in its own transactions
        return move(*args, **kwargs)

    monkeypatch.setattr(summary_read, "_move_windows", roll_then_move)
    with db.session() as session:
        facts = load_facts(session=session, as_of=TODAY, account_ids=None, summary=True)
    assert facts[atlas].value_last_6m == 40.0


def test_a_roll_passes_over_rows_an_import_holds_instead_of_deadlocking_with_it(
    db: Database,
) -> None:
    # An import's DELETE takes its accounts' summary rows in the table's order, the roll
    # in account order: each waiting for the other's rows, PostgreSQL aborted one of them
    # (in a stress run, the import too). The roll now passes over rows another
    # transaction holds: that writer rewrites them anyway.
    if db.is_sqlite:
        pytest.skip("SQLite has one writer at a time (BEGIN IMMEDIATE)")
    first, second = _accounts(db, "First", "Second")
    outcome: list[object] = []

    def roll() -> None:
        try:
            outcome.append(roll_windows(db, today=TODAY))
        except Exception as error:  # a deadlock, reported to the test
            outcome.append(error)

    with db.engine.connect() as importer:
        importer.begin()
        importer.execute(sa.delete(AccountSummary).where(AccountSummary.account_id == second))
        thread = threading.Thread(target=roll)
        thread.start()
        time.sleep(0.5)  # the roll has taken the first row
        importer.execute(sa.delete(AccountSummary).where(AccountSummary.account_id == first))
        refresh_summary(importer, [first, second], today=TODAY)
        importer.commit()
        thread.join(timeout=10)
    assert outcome in ([0], [1])
    with db.session() as session:
        assert stored_summaries(session) == expected_summaries(session, TODAY)
