"""The purchase summary's windows moved to today: a write of the hourly upkeep.

A summary row's windowed values (last 6, 12 and 24 months) are as of the day it was last
refreshed (`windows_on`), and every read for another day moves them with the orders
between the two days' window edges (bot/retention/summary_read.py). Between imports that
is every card, due list and report: a card's edge query cost more than the rest of it.
Rolling the rows forward once a day, in short chunks, lets the day's reads take them as
they are. The values after a roll are those a refresh would write (a test checks it).

Each chunk is one write transaction that first takes its rows (a lock on PostgreSQL;
BEGIN IMMEDIATE on SQLite), so an import refreshing the same accounts either waits for
it or has already rewritten them as of its own day (those rows are then left alone).
On PostgreSQL the chunk passes over rows another transaction holds (SKIP LOCKED): that
writer rewrites them, and waiting for them while holding its own rows deadlocked with an
import's DELETE, which takes its rows in the table's order, not the accounts'.
"""

from __future__ import annotations

import logging
from datetime import date

import sqlalchemy as sa

from bot.db import Database
from bot.retention.dates import as_day
from bot.retention.summary import ORDERS, SUMMARY
from bot.retention.summary_read import window_moves

log = logging.getLogger(__name__)

# Accounts per write transaction: short enough that Slack's writes never wait long.
CHUNK = 2_000
_VALUES = ("value_6m_cents", "value_12m_cents", "value_24m_cents", "occasions_24m")


def roll_windows(db: Database, *, today: date) -> int:
    """Move the windows of every summary row stored as of an earlier day to `today`.
    Returns the number of rows moved (0 when all are current: one indexed look-up)."""
    with db.session() as session:
        days = [
            as_day(stored_on)
            for (stored_on,) in session.execute(
                sa.select(SUMMARY.c.windows_on)
                .where(SUMMARY.c.windows_on < today)
                .group_by(SUMMARY.c.windows_on)
            )
        ]
    moved = 0
    for stored_on in sorted(days):
        after = 0
        while True:
            count, after = _roll_chunk(db, stored_on=stored_on, today=today, after=after)
            if not count:
                break
            moved += count
    if moved:
        log.info("moved %d purchase summaries' windows to %s", moved, today.isoformat())
    return moved


def _roll_chunk(db: Database, *, stored_on: date, today: date, after: int) -> tuple[int, int]:
    """The next `CHUNK` rows stored as of `stored_on` (by account id, past `after`),
    moved to `today`. Returns how many, and the last account id."""
    stored = SUMMARY.c.windows_on == stored_on
    with db.transaction() as session:
        ids = (
            session.execute(
                sa.select(SUMMARY.c.account_id)
                .where(stored, SUMMARY.c.account_id > after)
                .order_by(SUMMARY.c.account_id)
                .limit(CHUNK)
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .all()
        )
        if not ids:
            return 0, after
        moves = window_moves(
            session, ORDERS.c.account_id.in_(ids), as_of=today, stored_on=stored_on
        )
        connection = session.connection()
        if moves:
            connection.execute(
                sa.update(SUMMARY)
                .where(SUMMARY.c.account_id == sa.bindparam("id"), stored)
                .values({name: SUMMARY.c[name] + sa.bindparam(f"add_{name}") for name in _VALUES}),
                [
                    {
                        "id": account_id,
                        **{f"add_{n}": v for n, v in zip(_VALUES, values, strict=True)},
                    }
                    for account_id, values in moves.items()
                ],
            )
        connection.execute(
            sa.update(SUMMARY).where(SUMMARY.c.account_id.in_(ids), stored).values(windows_on=today)
        )
    return len(ids), ids[-1]
