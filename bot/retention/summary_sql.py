"""The per-account summary grouped in SQL, for PostgreSQL (bot/retention/summary.py).

PostgreSQL groups the orders on the server faster than the rows can travel to Python
(measured with `bench_import --peer`: the Python fold of summary.py made a 1,000,000-order
import on PostgreSQL slower, the same fold made SQLite's faster), so there the summary
rows come from one INSERT ... SELECT per batch of accounts. Both ways must equal the
recomputation in tests/domain/test_summary.py.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from bot.retention.occasions import is_occasion
from bot.retention.summary import COLUMNS, SUMMARY, daily_cents
from bot.retention.windows import RFM_WINDOW_MONTHS, WINDOWS, day_start, months_back


def insert_grouped(connection: Connection, scope, today: date) -> None:
    """The summary rows of the accounts in `scope`, grouped and inserted in SQL."""
    connection.execute(sa.insert(SUMMARY).from_select(COLUMNS, _summary_select(scope, today)))


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
