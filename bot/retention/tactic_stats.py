"""Which tactics bring rebuys: a touch that used a tactic "wins" when the account
buys again (an order row with a positive amount) within 60 days after it."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from bot.retention.tactics import tactic_bank
from models import Order, Touch

WIN_WINDOW_DAYS = 60


def tactic_win_rates(*, session: Session, now: datetime, since_days: int = 365) -> list[dict]:
    """Per tactic: touches that used it, how many were followed by an order within 60
    days, and the rate. Touches younger than 60 days only count once they have won."""
    since = now - timedelta(days=since_days)
    rows = session.execute(
        sa.select(Touch.tactic_id, Touch.account_id, Touch.touched_at).where(
            Touch.tactic_id.is_not(None), Touch.touched_at >= since, Touch.touched_at <= now
        )
    ).all()
    if not rows:
        return []
    account_ids = {row.account_id for row in rows}
    orders: dict[int, list[datetime]] = {}
    for account_id, ordered_at in session.execute(
        sa.select(Order.account_id, Order.ordered_at).where(
            Order.account_id.in_(account_ids),
            Order.ordered_at >= since,
            Order.ordered_at <= now,
            Order.amount > 0,  # a purchase: a credit note or a free sample wins nothing
        )
    ):
        orders.setdefault(account_id, []).append(ordered_at)

    stats: dict[str, list[int]] = {}
    window = timedelta(days=WIN_WINDOW_DAYS)
    for tactic_id, account_id, touched_at in rows:
        won = any(touched_at < at <= touched_at + window for at in orders.get(account_id, ()))
        settled = won or touched_at + window <= now
        if not settled:
            continue
        counts = stats.setdefault(tactic_id, [0, 0])
        counts[0] += 1
        counts[1] += int(won)
    bank = tactic_bank()
    result = [
        {
            "id": tactic_id,
            "title": bank[tactic_id].title if tactic_id in bank else tactic_id,
            "touches": touches,
            "wins": wins,
            "win_rate": wins / touches if touches else 0.0,
        }
        for tactic_id, (touches, wins) in stats.items()
    ]
    result.sort(key=lambda row: (-row["win_rate"], -row["touches"], row["id"]))
    return result
