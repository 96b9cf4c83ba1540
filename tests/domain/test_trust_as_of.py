"""`--as-of` refuses impossible days and leaves out accounts that did not exist yet."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.db import Database
from bot.retention.errors import InvalidInput
from bot.retention.report import check_as_of, recency_report
from tests.support import factories as f

TODAY = date(2026, 6, 15)


def _data(db: Database) -> None:
    with db.transaction() as session:
        old = f.account(session, name="Imported Later")  # created 2026-06-15, orders in 2025
        f.order(session, old, "2025-03-04", 500)
        f.order(session, old, "2025-09-01", 700)
        f.account(session, name="Brand New")  # created 2026-06-15, nothing else


def test_future_days_are_refused(db: Database) -> None:
    _data(db)
    message = r"--as-of 1 Jan 2030 is in the future \(today is 15 Jun 2026\)"
    with db.session() as session, pytest.raises(InvalidInput, match=message):
        check_as_of(session=session, as_of=date(2030, 1, 1), today=TODAY)


def test_days_before_the_data_are_refused_saying_when_it_starts(db: Database) -> None:
    _data(db)
    with db.session() as session, pytest.raises(InvalidInput, match="on 4 Mar 2025") as refused:
        check_as_of(session=session, as_of=date(2024, 12, 31), today=TODAY)
    assert "2024-12-31" not in refused.value.message  # dates in words, never ISO
    with db.session() as session:
        assert check_as_of(session=session, as_of=date(2025, 3, 4), today=TODAY) == date(2025, 3, 4)


def test_accounts_created_after_the_day_are_left_out(db: Database) -> None:
    _data(db)
    with db.session() as session:
        then = recency_report(
            session=session, now=datetime(2025, 12, 31, 23, tzinfo=UTC), as_of=date(2025, 12, 31)
        )
        today = recency_report(session=session, now=datetime(2026, 6, 15, 12, tzinfo=UTC))
    assert then.accounts == 1 and then.never_bought == 0
    assert today.accounts == 2 and today.never_bought == 1
