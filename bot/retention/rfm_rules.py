"""The RFM scoring rule and the segments, with no database import: the cut points that
turn a figure into a 1-5 score, and the segment an account's scores and signals earn
(see bot/retention/rfm.py for the rule in words). The report's read path scores in SQL
with these cut points and names segments with `segment_for`."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass

from bot.retention.segments import SEGMENT_MEANINGS, SEGMENT_NO_PURCHASES  # noqa: F401

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
