"""Recency, frequency and value scores (quintiles within the workspace) and named segments.

Quintile cut points need every account's figures; they are computed once per as-of
day and cached in `rfm_cutoffs` (an orders import clears the cache), so a status
card scores one account without scanning the workspace.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from bot.db import BUSY_TIMEOUT_MS
from bot.retention.facts import RFM_WINDOW_MONTHS, AccountFacts, day_start, months_back, utc_value
from models import Order, RfmCutoffs

SEGMENT_NO_PURCHASES = "No purchases"


@dataclass(frozen=True)
class Cutoffs:
    """Four ascending cut points per measure. Recency is scored on -days, so higher is better."""

    recency: list[float]
    frequency: list[float]
    monetary: list[float]
    population: int

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, payload: str) -> Cutoffs:
        return cls(**json.loads(payload))


@dataclass(frozen=True)
class Rfm:
    recency: int
    frequency: int
    monetary: int
    segment: str

    def to_dict(self) -> dict:
        return {"r": self.recency, "f": self.frequency, "m": self.monetary, "segment": self.segment}


def _cut_points(values: list[float]) -> list[float]:
    ordered = sorted(values)
    n = len(ordered)
    # The k-th cut is the highest value of the k-th fifth; beating it moves a score up.
    return [ordered[max(0, (n * k) // 5 - 1)] for k in range(1, 5)] if n else [0.0] * 4


def _measures(fact: AccountFacts, as_of: date) -> tuple[float, float, float]:
    days = (as_of - fact.last_order_day).days
    return -float(days), float(fact.window_orders), fact.window_value


def compute_cutoffs(facts: dict[int, AccountFacts], *, as_of: date) -> Cutoffs:
    buyers = [_measures(fact, as_of) for fact in facts.values() if fact.last_order_at]
    return _cutoffs_of(buyers)


def _cutoffs_of(buyers: list[tuple[float, float, float]]) -> Cutoffs:
    return Cutoffs(
        recency=_cut_points([r for r, _, _ in buyers]),
        frequency=_cut_points([f for _, f, _ in buyers]),
        monetary=_cut_points([m for _, _, m in buyers]),
        population=len(buyers),
    )


def workspace_cutoffs(
    *, session: Session, as_of: date, now: datetime, facts: dict[int, AccountFacts] | None = None
) -> Cutoffs:
    """Cut points for the whole workspace as of a day, from the cache when fresh.

    Pass `facts` for every account when you already have them (the report does).
    """
    cached = session.get(RfmCutoffs, as_of)
    if cached is not None:
        return Cutoffs.from_json(cached.payload)
    if facts is not None:
        cutoffs = compute_cutoffs(facts, as_of=as_of)
    else:
        cutoffs = _cutoffs_of(_buyer_measures(session=session, as_of=as_of))
    _store(session, RfmCutoffs(as_of=as_of, payload=cutoffs.to_json(), computed_at=now))
    return cutoffs


def _store(session: Session, row: RfmCutoffs) -> None:
    """Cache the cut points so that they outlive the caller's (often read-only) session.

    A caller already holding SQLite's write lock stores them in its own transaction
    (a second writer would wait for that very lock); everyone else in a short one of
    their own, waiting a moment at most for another writer. The cache is a convenience:
    when another request stored the same day first, or the database is busy, the
    answer stands anyway.
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite" and connection.get_execution_options().get(
        "sqlite_immediate"
    ):
        try:
            with session.begin_nested():
                session.add(row)
        except (IntegrityError, OperationalError):
            pass
        return
    values = {"as_of": row.as_of, "payload": row.payload, "computed_at": row.computed_at}
    with connection.engine.connect() as writer:
        sqlite = writer.dialect.name == "sqlite"
        if sqlite:
            writer.exec_driver_sql("PRAGMA busy_timeout=250")
        try:
            writer.execute(sa.insert(RfmCutoffs).values(**values))
            writer.commit()
        except (IntegrityError, OperationalError):
            writer.rollback()
        finally:
            if sqlite:
                writer.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _buyer_measures(*, session: Session, as_of: date) -> list[tuple[float, float, float]]:
    """(-days since last order, orders in window, value in window) of every buyer, from one
    grouped query over orders alone."""
    end = day_start(as_of + timedelta(days=1))
    since = day_start(months_back(as_of, RFM_WINDOW_MONTHS))
    in_window = Order.ordered_at >= since
    rows = session.execute(
        sa.select(
            sa.func.max(Order.ordered_at),
            sa.func.sum(sa.case((in_window, 1), else_=0)),
            sa.func.sum(sa.case((in_window, Order.amount), else_=0)),
        )
        .where(Order.ordered_at < end)
        .group_by(Order.account_id)
    )
    measures = []
    for last_at, orders, value in rows:
        last_day = utc_value(last_at).date()
        measures.append((-float((as_of - last_day).days), float(orders or 0), float(value or 0)))
    return measures


def _score(value: float, cuts: list[float]) -> int:
    # Ties share a score: a value equal to a cut point stays below it.
    return 1 + bisect_left(cuts, value)


def segment_for(r: int, f: int, m: int) -> str:
    """The classic RFM segment names, from recency and the average of frequency and value."""
    fm = (f + m + 1) // 2
    if r >= 4 and fm >= 4:
        return "Champions"
    if r == 3 and fm >= 4:
        return "Loyal"
    if r >= 4 and fm >= 2:
        return "Potential loyalists"
    if r == 5:
        return "New customers"
    if r == 4:
        return "Promising"
    if r == 3 and fm >= 2:
        return "Need attention"
    if r == 3:
        return "About to sleep"
    if fm == 5 or (r == 1 and fm == 4):
        return "Can't lose"
    if fm >= 3:
        return "At risk"
    if r == 2:
        return "Hibernating"
    return "Lost"


def score_account(fact: AccountFacts, *, cutoffs: Cutoffs, as_of: date) -> Rfm:
    if fact.last_order_at is None:
        return Rfm(0, 0, 0, SEGMENT_NO_PURCHASES)
    recency, frequency, monetary = _measures(fact, as_of)
    r = min(5, _score(recency, cutoffs.recency))
    f = min(5, _score(frequency, cutoffs.frequency))
    m = min(5, _score(monetary, cutoffs.monetary))
    return Rfm(r, f, m, segment_for(r, f, m))


SEGMENT_MEANINGS = {
    "Champions": "bought recently, buys often and spends the most",
    "Loyal": "buys often and spends well, a little less recently",
    "Potential loyalists": "recent buyer with room to grow",
    "New customers": "bought recently for the first time or two",
    "Promising": "recent, but small so far",
    "Need attention": "middling on every count and drifting",
    "About to sleep": "small and going quiet",
    "Can't lose": "one of the biggest spenders, but has not bought in a long time",
    "At risk": "used to buy well, has not bought for a while",
    "Hibernating": "small, infrequent and not recent",
    "Lost": "lowest on recency, frequency and value",
    SEGMENT_NO_PURCHASES: "no order on record yet",
}
