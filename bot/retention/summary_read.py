"""Order facts as of a day, read from the per-account summary (bot/retention/summary.py).

An account with no order after the day asked about takes its all-time facts straight
from its summary row. Its windowed values (last 6, 12 and 24 months) are stored as of
the day of the last refresh (`windows_on`); for another day they are moved with the
orders between the two windows' edges only (a few days of orders when the summary was
refreshed recently), found through the index on `ordered_at`. An account with orders
after the day (a replayed past) is recomputed from its orders.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from bot.retention.facts import AccountFacts, day_start, fill_from_orders, utc_value
from bot.retention.occasions import is_occasion
from bot.retention.summary import ORDERS, SUMMARY, daily_cents
from bot.retention.windows import WINDOWS, window_edges

# Up to this many accounts are named in the edge query; SQLite allows 32,766 parameters.
NAMED_ACCOUNTS_MAX = 1_000

Scope = Callable[[sa.ColumnElement], sa.ColumnElement]


def fill_from_summary(
    session: Session,
    facts: dict[int, AccountFacts],
    *,
    as_of: date,
    scoped: Scope,
    rhythm: bool = False,
) -> list[int]:
    """The order facts of `facts`' accounts as of `as_of`, from the summary (with `rhythm`,
    the usual gap between occasions too). Returns the accounts with orders after `as_of`,
    whose facts were recomputed from their orders instead (their rhythm is not filled)."""
    end = day_start(as_of + timedelta(days=1))
    windows: dict[int, list[int]] = {}
    by_day: dict[date, set[int]] = defaultdict(set)
    later: list[int] = []
    for row in session.execute(sa.select(SUMMARY).where(scoped(SUMMARY.c.account_id))):
        fact = facts.get(row.account_id)
        if fact is None:
            continue
        if utc_value(row.last_row_at) >= end:
            later.append(row.account_id)
            continue
        fact.last_order_at = utc_value(row.last_at)
        fact.occasions = row.occasions
        fact.orders_count = row.rows
        fact.credit_rows = row.credit_rows
        fact.zero_rows = row.zero_rows
        fact.total_value = row.total_cents / 100
        if rhythm:
            fact.usual_gap_days = row.median_gap_days
        windows[row.account_id] = [
            row.value_6m_cents,
            row.value_12m_cents,
            row.value_24m_cents,
            row.occasions_24m,
        ]
        stored_on = row.windows_on
        if isinstance(stored_on, str):
            stored_on = date.fromisoformat(stored_on)
        if stored_on != as_of:
            by_day[stored_on].add(row.account_id)
    for stored_on, ids in by_day.items():
        _move_windows(session, windows, ids, as_of=as_of, stored_on=stored_on)
    for account_id, (v6, v12, v24, occasions) in windows.items():
        fact = facts[account_id]
        fact.value_last_6m = v6 / 100
        fact.value_prev_6m = (v12 - v6) / 100
        fact.value_last_12m = v12 / 100
        fact.window_value = v24 / 100
        fact.window_orders = occasions
    if later:
        fill_from_orders(session, facts, as_of=as_of, where=ORDERS.c.account_id.in_(later))
    return later


def _move_windows(
    session: Session,
    windows: dict[int, list[int]],
    ids: set[int],
    *,
    as_of: date,
    stored_on: date,
) -> None:
    """Add the orders entering each window and take out those leaving it."""
    # A card or a batch names its few accounts (the index on account_id finds their edge
    # orders); a whole book reads the edge orders of every account and keeps its own. Not
    # "the accounts stored on that day" from the summary: on PostgreSQL each statement
    # sees the latest commits, and the upkeep's roll (or an import) committed between the
    # summary's read and this one would leave its accounts' windows unmoved.
    named = len(ids) <= NAMED_ACCOUNTS_MAX
    accounts = ORDERS.c.account_id.in_(sorted(ids)) if named else sa.true()
    for account_id, moves in window_moves(
        session, accounts, as_of=as_of, stored_on=stored_on
    ).items():
        values = windows.get(account_id)
        if values is not None and account_id in ids:
            for slot, move in enumerate(moves):
                values[slot] += move


def window_moves(
    session: Session, accounts: sa.ColumnElement, *, as_of: date, stored_on: date
) -> dict[int, list[int]]:
    """Per account of `accounts` (a condition on the orders' account_id) with orders
    between the window edges: what moving its windows from `stored_on` to `as_of` adds
    to the 6, 12 and 24 months' cents and to the 24 months' occasions (in the summary's
    column order). Accounts without such orders are not in the result."""
    edges: dict[tuple[date, date], list[tuple[int, int]]] = defaultdict(list)
    for slot, months in enumerate(WINDOWS):
        for start, stop, sign in window_edges(as_of, stored_on, months):
            edges[start, stop].append((slot, sign))
    moves: dict[int, list[int]] = {}
    for (start, stop), slots in edges.items():
        daily = daily_cents(
            where=sa.and_(
                ORDERS.c.ordered_at >= day_start(start),
                ORDERS.c.ordered_at < day_start(stop),
                accounts,
            )
        ).subquery("edge_day")
        rows = session.execute(
            sa.select(
                daily.c.account_id,
                sa.func.sum(daily.c.net),
                sa.func.sum(sa.case((is_occasion(daily), 1), else_=0)),
            ).group_by(daily.c.account_id)
        )
        for account_id, net, occasions in rows:
            values = moves.setdefault(account_id, [0] * (len(WINDOWS) + 1))
            for slot, sign in slots:
                values[slot] += sign * int(net)
                if slot == len(WINDOWS) - 1:
                    values[-1] += sign * int(occasions)
    return moves
