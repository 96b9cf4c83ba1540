"""Recency, frequency and value scores (quintiles within the workspace) and named segments.

Scoring rule (ties handled by average ranks): an account's percentile on a measure is
(buyers below it + half the buyers tied with it) / buyers, and its score is
1 + floor(5 x percentile), capped at 5. Tied accounts always share a score, and a big
tie lands in the middle of the band it spans: when half the buyers tie at one purchase
occasion they all get frequency 2 (percentile 0.25). The one thing the rule cannot do
is give score 1 to a figure shared by more than 40% of buyers (their percentile is
over 0.2): frequency 1 is then not given, because that many bought on a single day.
Recency is scored on -days since the last purchase occasion (recent is high);
frequency counts purchase occasions and value is net of credits, both over the RFM
window.

The thresholds that turn a figure into a score need every buyer's figures; they are
computed once per as-of day and cached in `rfm_cutoffs` (an orders import clears the
cache), so a status card scores one account without scanning the workspace.

A segment's words never contradict the account's own signals: a "recent" segment
(Champions, Loyal, Potential loyalists, New customers, Promising) is never given to a
dormant account, and the ones that say it buys well (Champions, Loyal, Potential
loyalists) never to a declining one; see `segment_for`.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from bot.db import BUSY_TIMEOUT_MS
from bot.retention.facts import (
    RFM_WINDOW_MONTHS,
    AccountFacts,
    day_start,
    is_occasion,
    months_back,
    order_days,
    utc_value,
)
from bot.retention.segments import SEGMENT_NO_PURCHASES
from bot.retention.signals import dormancy, is_declining
from models import RfmCutoffs

# Stored with cached thresholds: thresholds of another rule are recomputed, not reused.
SCORING_RULE = "average-rank-v1"


@dataclass(frozen=True)
class Cutoffs:
    """Per measure, four ascending thresholds: a figure at or above the k-th (k = 1..4)
    scores at least k + 1; None when no buyer earns that score. Recency is on -days."""

    recency: list[float | None]
    frequency: list[float | None]
    monetary: list[float | None]
    population: int
    rule: str = SCORING_RULE

    def to_json(self) -> str:
        return json.dumps(self.__dict__)

    @classmethod
    def from_json(cls, payload: str) -> Cutoffs | None:
        """The cached thresholds, or None when another scoring rule made them."""
        data = json.loads(payload)
        if data.get("rule") != SCORING_RULE:
            return None
        return cls(**data)


@dataclass(frozen=True)
class Rfm:
    recency: int
    frequency: int
    monetary: int
    segment: str

    def to_dict(self) -> dict:
        return {"r": self.recency, "f": self.frequency, "m": self.monetary, "segment": self.segment}


def average_rank_score(below: int, tied: int, population: int) -> int:
    """1-5 from the percentile by average rank, (below + tied / 2) / population."""
    if population <= 0:
        return 1
    return min(5, 1 + int(5 * (below + tied / 2) / population))


def _cut_points(values: list[float]) -> list[float | None]:
    """The lowest figure that earns each score from 2 to 5 under the average-rank rule."""
    counts = Counter(values)
    thresholds: list[float | None] = [None] * 4
    below = 0
    for value in sorted(counts):
        score = average_rank_score(below, counts[value], len(values))
        for k in range(2, score + 1):
            if thresholds[k - 2] is None:
                thresholds[k - 2] = value
        below += counts[value]
    return thresholds


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
    """Thresholds for the whole workspace as of a day, from the cache when fresh.

    Pass `facts` for every account when you already have them (the report does).
    """
    cached = session.get(RfmCutoffs, as_of)
    if cached is not None:
        cutoffs = Cutoffs.from_json(cached.payload)
        if cutoffs is not None:
            return cutoffs
        session.expunge(cached)  # another rule's: recomputed and replaced below
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
                session.merge(row)
        except (IntegrityError, OperationalError):
            pass
        return
    values = {"as_of": row.as_of, "payload": row.payload, "computed_at": row.computed_at}
    with connection.engine.connect() as writer:
        sqlite = writer.dialect.name == "sqlite"
        if sqlite:
            writer.exec_driver_sql("PRAGMA busy_timeout=250")
        try:
            # Replaces thresholds an older scoring rule left for the same day.
            writer.execute(sa.delete(RfmCutoffs).where(RfmCutoffs.as_of == row.as_of))
            writer.execute(sa.insert(RfmCutoffs).values(**values))
            writer.commit()
        except (IntegrityError, OperationalError):
            writer.rollback()
        finally:
            if sqlite:
                writer.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def _buyer_measures(*, session: Session, as_of: date) -> list[tuple[float, float, float]]:
    """(-days since the last occasion, occasions in window, net value in window) of every
    buyer, from one grouped query over order days."""
    end = day_start(as_of + timedelta(days=1))
    since = day_start(months_back(as_of, RFM_WINDOW_MONTHS))
    daily = order_days(end=end)
    bought = is_occasion(daily)
    in_window = daily.c.first_at >= since
    rows = session.execute(
        sa.select(
            sa.func.max(sa.case((bought, daily.c.last_at))),
            sa.func.sum(sa.case((sa.and_(bought, in_window), 1), else_=0)),
            sa.func.sum(sa.case((in_window, daily.c.amount), else_=0)),
        ).group_by(daily.c.account_id)
    )
    measures = []
    for last_at, occasions, value in rows:
        if last_at is None:  # only credits or zero rows: not a buyer
            continue
        days = (as_of - utc_value(last_at).date()).days
        measures.append((-float(days), float(occasions or 0), float(value or 0)))
    return measures


def _score(value: float, cuts: list[float | None]) -> int:
    return 1 + bisect_right([cut for cut in cuts if cut is not None], value)


# Signals that make a segment's words false: "bought recently" for a dormant account,
# "buys often / spends well / room to grow" for one buying far less than it did.
DORMANT = frozenset({"dormant_6m", "dormant_12m", "dormant_18m"})
CONTRADICTED_BY: dict[str, frozenset[str]] = {
    "Champions": DORMANT | {"declining"},
    "Loyal": DORMANT | {"declining"},
    "Potential loyalists": DORMANT | {"declining"},
    "New customers": DORMANT,
    "Promising": DORMANT,
}


def segment_for(r: int, f: int, m: int, signals: frozenset[str] | set[str] = frozenset()) -> str:
    """The classic RFM segment from recency and the average of frequency and value, never
    one whose words contradict `signals`: a dormant account gets the quiet segment its
    history earns (Can't lose, At risk, Hibernating, Lost); a recent one buying far
    less gets Need attention (or About to sleep when small)."""
    fm = (f + m + 1) // 2
    segment = _classic_segment(r, fm)
    signals = set(signals)
    if not (CONTRADICTED_BY.get(segment, frozenset()) & signals):
        return segment
    if signals & DORMANT:
        if fm >= 4:
            return "Can't lose"
        if fm >= 3:
            return "At risk"
        return "Hibernating" if fm == 2 else "Lost"
    return "Need attention" if fm >= 2 else "About to sleep"


def _classic_segment(r: int, fm: int) -> str:
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


def order_signals(fact: AccountFacts, *, as_of: date) -> frozenset[str]:
    """The signals a segment's words could contradict: dormancy and declining."""
    names = set()
    dormant = dormancy(fact, as_of=as_of)
    if dormant is not None:
        names.add(dormant.name)
    if is_declining(fact):
        names.add("declining")
    return frozenset(names)


def score_account(fact: AccountFacts, *, cutoffs: Cutoffs, as_of: date) -> Rfm:
    """R, F and M scores, and a segment whose words fit the account's signals."""
    if fact.last_order_at is None:
        return Rfm(0, 0, 0, SEGMENT_NO_PURCHASES)
    recency, frequency, monetary = _measures(fact, as_of)
    r = _score(recency, cutoffs.recency)
    f = _score(frequency, cutoffs.frequency)
    m = _score(monetary, cutoffs.monetary)
    return Rfm(r, f, m, segment_for(r, f, m, order_signals(fact, as_of=as_of)))
