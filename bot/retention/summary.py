"""Per-account purchase facts kept up to date on write (the `account_summary` table).

Every writer of orders (the importer, the CRM sync, the demo) calls `refresh_summary`
for the accounts it touched, in the same transaction as the orders, so the summary
never disagrees with them. `rebuy db rebuild-summary` recomputes every row.

Occasions are the purchase occasions of bot/retention/facts.py (`is_occasion`: a UTC
order day with at least one positive row); money is summed in integer cents. The windowed values
(last 6, 12 and 24 months) are as of the day of the refresh (`windows_on`); a read for
another day moves them with the orders between the two windows' edges
(`bot/retention/summary_read.py`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.retention.facts import is_occasion, utc_day
from bot.retention.windows import RFM_WINDOW_MONTHS, WINDOWS, day_start, months_back
from models import AccountSummary, Order

SUMMARY = AccountSummary.__table__  # type: ignore[attr-defined]
ORDERS = Order.__table__  # type: ignore[attr-defined]
_IDS_PER_STATEMENT = 5_000


def cents(column):
    """An amount in integer cents (exact sums on every database)."""
    return sa.cast(sa.func.round(column * 100), sa.BigInteger)


def daily_cents(*, where=sa.true()):
    """One row per account and UTC order day: net cents, rows, credits, zero rows, and the
    day's first and last timestamps (the occasion's times)."""
    day = utc_day(ORDERS.c.ordered_at)
    amount = cents(ORDERS.c.amount)
    return (
        sa.select(
            ORDERS.c.account_id.label("account_id"),
            day.label("day"),
            sa.func.sum(amount).label("net"),
            sa.func.count().label("rows"),
            sa.func.sum(sa.case((ORDERS.c.amount < 0, 1), else_=0)).label("credit_rows"),
            sa.func.sum(sa.case((ORDERS.c.amount == 0, 1), else_=0)).label("zero_rows"),
            sa.func.min(ORDERS.c.ordered_at).label("first_at"),
            sa.func.max(ORDERS.c.ordered_at).label("last_at"),
        )
        .where(where)
        .group_by(ORDERS.c.account_id, day)
    )


def _summary_select(scope, today: date):
    """INSERT ... SELECT body: every fact of the accounts in `scope`, grouped in SQL."""
    daily = daily_cents(where=scope).subquery("order_day")
    bought = is_occasion(daily)
    end = day_start(today + timedelta(days=1))

    def since(months: int):
        return sa.and_(
            daily.c.first_at >= day_start(months_back(today, months)), daily.c.first_at < end
        )

    # Gaps between consecutive occasions, ranked per account for the median.
    occasion = (
        sa.select(
            daily.c.account_id,
            daily.c.day,
            sa.func.lag(daily.c.day)
            .over(partition_by=daily.c.account_id, order_by=daily.c.day)
            .label("previous"),
        )
        .where(bought)
        .subquery("occasion")
    )
    gap_days = _day_number(occasion.c.day) - _day_number(occasion.c.previous)
    gaps = (
        sa.select(
            occasion.c.account_id,
            gap_days.label("gap"),
            sa.func.row_number()
            .over(partition_by=occasion.c.account_id, order_by=gap_days)
            .label("n"),
            sa.func.count().over(partition_by=occasion.c.account_id).label("of"),
        )
        .where(occasion.c.previous.is_not(None))
        .subquery("gaps")
    )
    median = (
        sa.select(
            gaps.c.account_id,
            sa.func.avg(sa.cast(gaps.c.gap, sa.Float)).label("median_gap"),
        )
        .where(
            sa.or_(
                gaps.c.n == (gaps.c.of + 1) // 2,
                gaps.c.n == (gaps.c.of + 2) // 2,
            )
        )
        .group_by(gaps.c.account_id)
        .subquery("median")
    )
    facts = (
        sa.select(
            daily.c.account_id.label("account_id"),
            sa.func.min(sa.case((bought, daily.c.first_at))).label("first_at"),
            sa.func.max(sa.case((bought, daily.c.last_at))).label("last_at"),
            sa.func.sum(sa.case((bought, 1), else_=0)).label("occasions"),
            sa.func.max(daily.c.last_at).label("last_row_at"),
            sa.func.sum(daily.c.rows).label("rows"),
            sa.func.sum(daily.c.credit_rows).label("credit_rows"),
            sa.func.sum(daily.c.zero_rows).label("zero_rows"),
            sa.func.sum(daily.c.net).label("total_cents"),
            *[
                sa.func.sum(sa.case((since(months), daily.c.net), else_=0)).label(
                    f"value_{months}m_cents"
                )
                for months in WINDOWS
            ],
            sa.func.sum(sa.case((sa.and_(bought, since(RFM_WINDOW_MONTHS)), 1), else_=0)).label(
                "occasions_24m"
            ),
        )
        .group_by(daily.c.account_id)
        .subquery("facts")
    )
    return sa.select(
        facts.c.account_id,
        facts.c.first_at,
        facts.c.last_at,
        facts.c.occasions,
        facts.c.last_row_at,
        facts.c.rows,
        facts.c.credit_rows,
        facts.c.zero_rows,
        facts.c.total_cents,
        median.c.median_gap,
        sa.literal(today, sa.Date).label("windows_on"),
        *[facts.c[f"value_{months}m_cents"] for months in WINDOWS],
        facts.c.occasions_24m,
    ).select_from(facts.outerjoin(median, median.c.account_id == facts.c.account_id))


_COLUMNS = (
    "account_id",
    "first_at",
    "last_at",
    "occasions",
    "last_row_at",
    "rows",
    "credit_rows",
    "zero_rows",
    "total_cents",
    "median_gap_days",
    "windows_on",
    *[f"value_{months}m_cents" for months in WINDOWS],
    "occasions_24m",
)


class _day_number(sa.sql.expression.FunctionElement):
    """A day as a number of days (for gaps), in SQL."""

    inherit_cache = True
    type = sa.Integer()


@sa.ext.compiler.compiles(_day_number)
def _day_number_default(element, compiler, **kw):
    return f"CAST(julianday({compiler.process(element.clauses, **kw)}) AS INTEGER)"


@sa.ext.compiler.compiles(_day_number, "postgresql")
def _day_number_postgresql(element, compiler, **kw):
    return f"(({compiler.process(element.clauses, **kw)}) - DATE '2000-01-01')"


def refresh_summary(
    connection: Connection, account_ids: Collection[int] | None, *, today: date
) -> None:
    """Recompute the summary rows of `account_ids` (None: every account) from their
    orders, set-based: a DELETE and an INSERT ... SELECT grouped over the orders."""
    if account_ids is None:
        connection.execute(sa.delete(SUMMARY))
        connection.execute(
            sa.insert(SUMMARY).from_select(_COLUMNS, _summary_select(sa.true(), today))
        )
        return
    ids = sorted(set(account_ids))
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        part = ids[start : start + _IDS_PER_STATEMENT]
        connection.execute(sa.delete(SUMMARY).where(SUMMARY.c.account_id.in_(part)))
        scope = ORDERS.c.account_id.in_(part)
        connection.execute(sa.insert(SUMMARY).from_select(_COLUMNS, _summary_select(scope, today)))
