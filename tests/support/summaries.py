"""The purchase summary recomputed in Python from the order rows (Decimal, no SQL
grouping), and the summary as stored: tests compare the two after every kind of write."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, date
from decimal import Decimal
from statistics import median

import sqlalchemy as sa

from bot.retention.windows import months_back
from models import AccountSummary, Order
from tests.support import factories as f


def expected_summaries(session, today: date) -> dict[int, dict]:
    """The summary recomputed in Python from the order rows (Decimal, no SQL grouping)."""
    days: dict[int, dict[date, list]] = defaultdict(lambda: defaultdict(list))
    for account_id, at, amount in session.execute(
        sa.select(Order.account_id, Order.ordered_at, Order.amount)
    ):
        at = f.at(at) if isinstance(at, str) else at.astimezone(UTC)
        days[account_id][at.date()].append((at, Decimal(str(amount))))
    result = {}
    for account_id, by_day in days.items():
        net = {day: sum(a for _, a in rows) for day, rows in by_day.items()}
        # An occasion: a day with at least one positive row (credits never cancel one).
        bought = {day for day, rows in by_day.items() if any(a > 0 for _, a in rows)}
        occasions = sorted(bought)
        rows = [row for day_rows in by_day.values() for row in day_rows]
        gaps = [(b - a).days for a, b in itertools.pairwise(occasions)]

        def since(months: int, net=net) -> list[date]:
            start = months_back(today, months)
            return [d for d in net if start <= d <= today]

        result[account_id] = {
            "first_at": min(at for at, _ in by_day[occasions[0]]) if occasions else None,
            "last_at": max(at for at, _ in by_day[occasions[-1]]) if occasions else None,
            "occasions": len(occasions),
            "last_row_at": max(at for at, _ in rows),
            "rows": len(rows),
            "credit_rows": sum(1 for _, a in rows if a < 0),
            "zero_rows": sum(1 for _, a in rows if a == 0),
            "total_cents": int(sum(net.values()) * 100),
            "median_gap_days": float(median(gaps)) if gaps else None,
            "windows_on": today,
            "value_6m_cents": int(sum(net[d] for d in since(6)) * 100),
            "value_12m_cents": int(sum(net[d] for d in since(12)) * 100),
            "value_24m_cents": int(sum(net[d] for d in since(24)) * 100),
            "occasions_24m": sum(1 for d in since(24) if d in bought),
        }
    return result


def stored_summaries(session) -> dict[int, dict]:
    stored = {}
    for row in session.execute(sa.select(AccountSummary)).scalars():
        values = row.model_dump()
        stored[values.pop("account_id")] = values
    return stored
