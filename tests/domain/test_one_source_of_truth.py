"""The helpers that replaced copies: LIKE escaping, UTC conversion, the CRMs' values."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlmodel import col, select

from bot.clock import as_utc, aware_utc
from bot.crm.values import as_money, as_text, as_when, maybe_when
from bot.db import Database
from bot.retention.like import LIKE_ESCAPE, escape_like
from models import Account
from tests.support import factories as f


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("100%", ["100% Wool"]),
        ("a_b", ["a_b Ltd"]),
        ("back\\slash", ["back\\slash Co"]),
    ],
)
def test_like_patterns_take_the_users_words_literally(
    db: Database, typed: str, expected: list[str]
) -> None:
    with db.transaction() as session:
        for name in ("100% Wool", "1000 Wool", "a_b Ltd", "axb Ltd", "back\\slash Co", "backslash"):
            f.account(session, name)
    with db.session() as session:
        found = session.exec(
            select(Account.name).where(
                col(Account.name).like(f"{escape_like(typed)}%", escape=LIKE_ESCAPE)
            )
        ).all()
    assert found == expected


def test_as_utc_reads_what_databases_hand_back() -> None:
    aware = datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=2)))
    assert as_utc(aware) == aware and as_utc(aware).utcoffset() == timedelta(0)
    assert as_utc(datetime(2026, 3, 29, 1, 30)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert as_utc("2026-03-29 01:30:00.000000") == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert as_utc(None) is None


def test_aware_utc_refuses_a_naive_now() -> None:
    with pytest.raises(ValueError, match="naive"):
        aware_utc(datetime(2026, 1, 1))
    assert aware_utc(datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))) == datetime(
        2026, 1, 1, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1767225600000", datetime(2026, 1, 1, tzinfo=UTC)),  # HubSpot: epoch ms
        ("2026-01-02T03:04:05.000Z", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02T03:04:05.000+0000", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),  # Salesforce
        ("2026-01-02T05:04:05.000+0200", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2026-01-02", datetime(2026, 1, 2, tzinfo=UTC)),
        (date(2026, 1, 2), datetime(2026, 1, 2, tzinfo=UTC)),
        (datetime(2026, 1, 2, 3), datetime(2026, 1, 2, 3, tzinfo=UTC)),
    ],
)
def test_crm_times_are_read_once_for_every_crm(value: object, expected: datetime) -> None:
    assert as_when(value) == expected
    assert maybe_when(value) == expected


@pytest.mark.parametrize("value", ["", "soon", "2026-13-45", "99999999999999999999999", "+0000"])
def test_what_is_not_a_crm_time_is_none(value: str) -> None:
    assert maybe_when(value) is None


def test_crm_money_and_text() -> None:
    assert as_money("1234.50") == Decimal("1234.50")
    assert as_money(7) == Decimal(7)
    assert [as_money(v) for v in (None, "", "n/a", "NaN", "Infinity")] == [None] * 5
    assert as_text("  Acme  ") == "Acme"
    assert as_text("   ") is None and as_text(None) is None
