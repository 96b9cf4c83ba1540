"""The recommender: the next touch for an account, picked from the bank.

It scores each tactic by the account's signals and RFM segment (urgent signals weigh
more, a tactic's first-listed fits weigh more than its later ones), keeps the picks
varied, and rotates away from tactics the rep saw or used on the account lately.

Given the account's numbers (a `TacticContext`), it never offers a tactic whose premise
is false for the account (each tactic `requires` named premises, see PREMISES) and
explains each pick with that tactic's own one-sentence `why`, filled in with the
account's numbers. Advice is stable within a day: tactics shown today do not rotate away
until the next day, or until a touch is logged after them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.clock import aware_utc, local_day_start
from bot.retention.tactics.bank import tactic_bank
from bot.retention.tactics.context import TacticContext, premise_holds, render_why
from bot.retention.tactics.history import last_seen as load_last_seen
from bot.retention.tactics.history import record_exposure
from bot.retention.tactics.reasons import why_options
from bot.retention.tactics.tactic import Tactic, TacticPick
from bot.retention.tactics.vocabulary import FIT_NAMES, NO_SIGNALS, SIGNALS, segment_fit_name

# How urgent each fit is: a tactic that answers an urgent signal ranks higher.
URGENCY: dict[str, float] = {
    "dormant_18m": 5.0,
    "dormant_12m": 5.0,
    "declining": 5.0,
    "cant_lose": 5.0,
    "at_risk": 4.5,
    "single_threaded": 4.0,
    "dormant_6m": 3.5,
    "lost": 3.5,
    "likely_lapsing": 4.0,
    "off_rhythm": 3.0,
    "need_attention": 3.0,
    "about_to_sleep": 3.0,
    "hibernating": 3.0,
    "champions": 2.5,
    "loyal": 2.5,
    "new_customers": 2.5,
    "potential_loyalists": 2.0,
    "promising": 2.0,
    "no_purchases": 2.0,
    "touch_overdue": 1.5,
    "no_plan": 1.5,
    NO_SIGNALS: 0.5,
}
# A slight preference for tactics a busy rep will actually do.
EFFORT_BONUS = {"low": 0.6, "medium": 0.3, "high": 0.0}
# Beyond the best-matching fit, further matches add half their weight.
EXTRA_MATCH_SHARE = 0.5
# Any tactic seen within the rotation window ranks below every unseen one;
# among the seen, the longer ago the better.
ROTATION_PENALTY = 100.0


@dataclass(frozen=True)
class _Candidate:
    tactic: Tactic
    reasons: tuple[str, ...]
    score: float
    last_seen: datetime | None

    @property
    def seen(self) -> bool:
        return self.last_seen is not None


def recommend_tactics(
    *,
    session: Session,
    account_id: int,
    signals: Sequence[str],
    segment: str | None,
    now: datetime,
    limit: int = 3,
    record: str | None = None,
    rotation_days: int = 30,
    bank: Mapping[str, Tactic] | None = None,
    context: TacticContext | None = None,
    tz: str | None = None,
) -> list[TacticPick]:
    """The best `limit` tactics for an account, each with a one-line why.

    Tactics fitting the account's signals and segment rank by urgency; picks are
    kept varied (no two for exactly the same reason while another reason is
    available). Tactics shown (TacticExposure) or used (Touch.tactic_id) on the
    account within `rotation_days` drop below the unseen ones, so repeated calls
    rotate; when everything fitting was seen, the least recently seen come back. The
    advice stays put for the day in `tz`, the asking rep's time zone (UTC if unknown).
    With `record` (a surface name such as "card" or "reminder") the picks are
    stored as exposures; the caller commits.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1 (got {limit})")
    if rotation_days < 0:
        raise ValueError(f"rotation_days must not be negative (got {rotation_days})")
    now = aware_utc(now)
    tactics = tactic_bank() if bank is None else bank
    last_seen = load_last_seen(
        session=session,
        account_id=account_id,
        now=now,
        days=rotation_days,
        today=local_day_start(now, tz),
    )
    picks = rank_tactics(
        tactics.values(),
        signals=signals,
        segment=segment,
        now=now,
        last_seen=last_seen,
        limit=limit,
        rotation_days=rotation_days,
        context=context,
    )
    if record is not None and picks:
        record_exposure(
            session=session,
            account_id=account_id,
            tactic_ids=[pick.id for pick in picks],
            now=now,
            surface=record,
        )
    return picks


def rank_tactics(
    tactics: Iterable[Tactic],
    *,
    signals: Sequence[str],
    segment: str | None,
    now: datetime,
    last_seen: Mapping[str, datetime] | None = None,
    limit: int = 3,
    rotation_days: int = 30,
    context: TacticContext | None = None,
) -> list[TacticPick]:
    """The recommender without the database: `last_seen` maps tactic id to when it was seen.

    With `context`, tactics whose premise is false for the account are left out and each
    pick's why is that tactic's own sentence with the account's numbers.
    """
    now = aware_utc(now)
    last_seen = last_seen or {}
    wanted = _fit_names(signals, segment)
    fitting: list[_Candidate] = []
    others: list[_Candidate] = []
    for tactic in tactics:
        if context is not None and not premise_holds(tactic, context):
            continue
        candidate = _score(tactic, wanted, last_seen.get(tactic.id))
        (fitting if candidate.reasons else others).append(candidate)

    def rank(candidate: _Candidate) -> tuple[float, str]:
        penalty = _rotation_penalty(candidate.last_seen, now=now, days=rotation_days)
        return (-(candidate.score - penalty), candidate.tactic.id)

    fitting.sort(key=rank)
    others.sort(key=rank)
    chosen: list[_Candidate] = []
    for tier in (
        [c for c in fitting if not c.seen],
        [c for c in fitting if c.seen],
        others,
    ):
        _pick_varied(tier, chosen, limit)
    if context is not None:
        return [
            TacticPick(tactic=c.tactic, why=render_why(c.tactic, context) or "", reasons=c.reasons)
            for c in chosen
        ]
    return _explain(chosen)


def _score(tactic: Tactic, wanted: frozenset[str], seen: datetime | None) -> _Candidate:
    """The tactic scored for the account's fit names; no fitting name makes it a filler."""
    reasons, score = _fit_score(tactic, wanted)
    return _Candidate(tactic, reasons, score, seen)


@functools.lru_cache(maxsize=8192)
def _fit_score(tactic: Tactic, wanted: frozenset[str]) -> tuple[tuple[str, ...], float]:
    """The reasons and score of `_score` (a few hundred combinations of fit names recur
    across a workspace's accounts, so each is worked out once)."""
    weights = {
        name: URGENCY[name] * _position_weight(index)
        for index, name in enumerate(tactic.fits)
        if name in wanted
    }
    if not weights:
        # A filler, used only when too few tactics fit: warm-keeping ones first.
        score = (1.0 if NO_SIGNALS in tactic.fits else 0.0) + EFFORT_BONUS[tactic.effort]
        return (), score
    ordered = sorted(weights, key=lambda name: (-weights[name], FIT_NAMES.index(name)))
    best = weights[ordered[0]]
    score = best + EXTRA_MATCH_SHARE * (sum(weights.values()) - best)
    score += EFFORT_BONUS[tactic.effort]
    return tuple(ordered), score


def _fit_names(signals: Sequence[str], segment: str | None) -> frozenset[str]:
    # Unknown signal names are ignored so a new signal never breaks the card.
    names = {name for name in signals if name in SIGNALS}
    segment_name = segment_fit_name(segment)
    if segment_name:
        names.add(segment_name)
    # Nothing to go on: suggest the tactics that keep a healthy relationship warm.
    return frozenset(names or {NO_SIGNALS})


def _position_weight(index: int) -> float:
    """A tactic's first-listed fit counts fully, later ones a little less."""
    return max(0.55, 1.0 - 0.15 * index)


def _rotation_penalty(seen: datetime | None, *, now: datetime, days: int) -> float:
    if seen is None:
        return 0.0
    age = max((now - seen).total_seconds(), 0.0) / 86400
    freshness = max(0.0, 1.0 - age / days) if days else 0.0
    return ROTATION_PENALTY * (1.0 + freshness)


def _pick_varied(tier: list[_Candidate], chosen: list[_Candidate], limit: int) -> None:
    """Take from `tier` in order, skipping a reason already covered while others remain."""
    deferred: list[_Candidate] = []
    for candidate in tier:
        if len(chosen) >= limit:
            return
        if candidate.reasons and candidate.reasons in {c.reasons for c in chosen}:
            deferred.append(candidate)
        else:
            chosen.append(candidate)
    for candidate in deferred:
        if len(chosen) >= limit:
            return
        chosen.append(candidate)


def _explain(chosen: list[_Candidate]) -> list[TacticPick]:
    picks: list[TacticPick] = []
    used: set[str] = set()
    for candidate in chosen:
        options = why_options(candidate.reasons)
        why = next((text for text in options if text not in used), options[0])
        used.add(why)
        picks.append(TacticPick(tactic=candidate.tactic, why=why, reasons=candidate.reasons))
    return picks
