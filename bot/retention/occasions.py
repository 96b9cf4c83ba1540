"""The purchase-occasion rule in SQL: order rows grouped by account and UTC day, and
which of those days are purchase occasions (bot/retention/facts.py explains the rule).

The facts, the purchase summary, its edge reads and the re-buy model's inputs all group
and test order days through these, so the rule is written once.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from models import Order


class utc_day(FunctionElement):
    """The UTC calendar day of a timestamp column, in SQL (for grouping rows by day)."""

    inherit_cache = True
    type = sa.Date()


@compiles(utc_day)
def _utc_day_default(element, compiler, **kw):
    # SQLite keeps UTC text; date() reads its day (and applies any offset it carries).
    return f"date({compiler.process(element.clauses, **kw)})"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element, compiler, **kw):
    # timestamptz: take the day in UTC, whatever the session's time zone.
    return f"CAST(timezone('UTC', {compiler.process(element.clauses, **kw)}) AS DATE)"


def order_days(*, end: datetime, where=sa.true()):
    """One row per account and order day before `end`: the day's net amount, the sum of
    its positive rows, its rows, how many of them were credits or zero, and its first
    and last timestamps."""
    day = utc_day(Order.ordered_at)
    return (
        sa.select(
            Order.account_id.label("account_id"),
            day.label("day"),
            sa.func.sum(Order.amount).label("amount"),
            sa.func.sum(sa.case((Order.amount > 0, Order.amount), else_=0)).label(
                "positive_amount"
            ),
            sa.func.count().label("rows"),
            sa.func.sum(sa.case((Order.amount < 0, 1), else_=0)).label("credit_rows"),
            sa.func.sum(sa.case((Order.amount == 0, 1), else_=0)).label("zero_rows"),
            sa.func.min(Order.ordered_at).label("first_at"),
            sa.func.max(Order.ordered_at).label("last_at"),
        )
        .where(where, Order.ordered_at < end)
        .group_by(Order.account_id, day)
        .subquery("order_day")
    )


def is_occasion(daily):
    """THE purchase-occasion rule, on a row of an order-day subquery (`order_days` here,
    `summary.daily_cents`): the day has at least one positive row, i.e. rows that are
    neither credits nor zero. Signals, RFM, the card, the summary and the re-buy model's
    inputs all go through it (`rebuy_model.inputs.day_occasions` on raw rows)."""
    return daily.c.rows > daily.c.credit_rows + daily.c.zero_rows


def purchase_occasions(*, end: datetime | None = None, where=sa.true(), daily=None):
    """One row per purchase occasion before `end`: (account_id, day, amount), the amount
    being the sum of the day's positive rows (what was bought; credits are not netted
    into an occasion's value). The re-buy model reads its inputs from here. `daily`: an
    `order_days` subquery already built (load_facts reuses its own)."""
    if daily is None:
        daily = order_days(end=end, where=where)
    return sa.select(daily.c.account_id, daily.c.day, daily.c.positive_amount).where(
        is_occasion(daily)
    )
