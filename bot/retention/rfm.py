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

import logging
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from bot.retention.facts import (
    AccountFacts,
    day_start,
)
from bot.retention.rfm_rules import (  # noqa: F401  (re-exported: the rule's home)
    CONTRADICTED_BY,
    DORMANT,
    SCORING_RULE,
    SEGMENT_MEANINGS,
    SEGMENT_NO_PURCHASES,
    Cutoffs,
    _cut_points,
    average_rank_score,
    segment_for,
)
from bot.retention.signals import dormancy, is_declining
from models import RfmCutoffs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rfm:
    recency: int
    frequency: int
    monetary: int
    segment: str

    def to_dict(self) -> dict:
        return {"r": self.recency, "f": self.frequency, "m": self.monetary, "segment": self.segment}


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
    """Thresholds for the whole workspace as of a day, from the cache when fresh;
    otherwise computed in `session` (read only) and cached (see `_cache`).

    Pass `facts` for every account when you already have them (the report does).
    """
    cutoffs = cached_cutoffs(session=session, as_of=as_of)
    if cutoffs is None:
        cutoffs = compute_workspace_cutoffs(session=session, as_of=as_of, facts=facts)
        cache_cutoffs(session, cutoffs, as_of=as_of, now=now)
    return cutoffs


def warm_cutoffs(db, *, now: datetime) -> Cutoffs:
    """Today's thresholds computed and cached ahead of the cards and reminders that need
    them (after an import; hourly in `rebuy serve`). Computed in a read session: the
    statement reads the whole workspace, and on SQLite a write transaction would shut the
    sweep and Slack's requests out meanwhile; the result is stored in a short write."""
    with db.session() as session:
        return workspace_cutoffs(session=session, as_of=now.date(), now=now)


def warm_cutoffs_after_writing(db, *, now: datetime) -> None:
    """`warm_cutoffs` after work that wrote orders (an import, a CRM sync, which cleared
    the day's cut points): the next card or reminder run reads them instead of computing
    them inside Slack's wait (seconds at a million accounts). A failure never fails that
    work: it is logged, and the first card computes them instead."""
    try:
        warm_cutoffs(db, now=now)
    except Exception as error:
        log.warning("could not compute today's cut points: %s", error)


def cached_cutoffs(*, session: Session, as_of: date) -> Cutoffs | None:
    """The day's cached thresholds, or None when there are none of the current rule."""
    cached = session.get(RfmCutoffs, as_of)
    if cached is None:
        return None
    cutoffs = Cutoffs.from_json(cached.payload)
    if cutoffs is None:
        session.expunge(cached)  # another rule's: recomputed and replaced by the caller
    return cutoffs


def compute_workspace_cutoffs(
    *, session: Session, as_of: date, facts: dict[int, AccountFacts] | None = None
) -> Cutoffs:
    """The thresholds computed afresh (writes nothing): from `facts` when given, else in
    SQL over the purchase summary, the statement `rebuy report` uses, so the day's cache
    holds the same cut points whichever surface fills it (the live accounts' buyers)."""
    if facts is not None:
        return compute_cutoffs(facts, as_of=as_of)
    return _summary_cutoffs(session=session, as_of=as_of)


def _summary_cutoffs(*, session: Session, as_of: date) -> Cutoffs:
    from bot.retention.plain_sql import session_run
    from bot.retention.report_sql import ReportQuery

    run, sql = session_run(session)
    # `now` only dates the report's tactic figures, which the cut points do not read.
    end = day_start(as_of + timedelta(days=1))
    return ReportQuery(run, sql, as_of=as_of, now=end).compute_cutoffs()


def store_cutoffs(*, session: Session, cutoffs: Cutoffs, as_of: date, now: datetime) -> None:
    """Cache the thresholds in the caller's write unit of work (the caller commits).
    Another writer having stored the same day first is not an error: theirs stand."""
    try:
        with session.begin_nested():
            session.merge(RfmCutoffs(as_of=as_of, payload=cutoffs.to_json(), computed_at=now))
    except (IntegrityError, OperationalError):
        pass


# How long caching the thresholds from a read may wait for SQLite's write lock: the
# cache is a convenience, and the answer stands without it.
CACHE_LOCK_WAIT_MS = 250


def cache_cutoffs(session: Session, cutoffs: Cutoffs, *, as_of: date, now: datetime) -> None:
    """Cache the cut points so that they outlive the caller's (often read-only) session:
    in the caller's transaction when it already holds SQLite's write lock (a second
    writer would wait for that very lock), else in a short write of their own."""
    if _holds_sqlite_write_lock(session):
        store_cutoffs(session=session, cutoffs=cutoffs, as_of=as_of, now=now)
    else:
        _store_in_short_transaction(session.get_bind(), cutoffs, as_of=as_of, now=now)


def _holds_sqlite_write_lock(session: Session) -> bool:
    connection = session.connection()
    return connection.dialect.name == "sqlite" and bool(
        connection.get_execution_options().get("sqlite_immediate")
    )


def _store_in_short_transaction(
    engine: sa.Engine, cutoffs: Cutoffs, *, as_of: date, now: datetime
) -> None:
    """Replace the day's row in a write transaction of its own on `engine`. On SQLite it
    takes the write lock up front and waits at most CACHE_LOCK_WAIT_MS for it (bot.db's
    `sqlite_lock_wait_ms`, applied as the transaction begins); when the database is busy
    or another request stored the day first, nothing is written."""
    options = (
        {"sqlite_immediate": True, "sqlite_lock_wait_ms": CACHE_LOCK_WAIT_MS}
        if engine.dialect.name == "sqlite"
        else {}
    )
    with engine.connect().execution_options(**options) as writer:
        try:
            # Replaces thresholds an older scoring rule left for the same day.
            writer.execute(sa.delete(RfmCutoffs).where(RfmCutoffs.as_of == as_of))
            writer.execute(
                sa.insert(RfmCutoffs).values(
                    as_of=as_of, payload=cutoffs.to_json(), computed_at=now
                )
            )
            writer.commit()
        except (IntegrityError, OperationalError):
            writer.rollback()


def _score(value: float, cuts: list[float | None]) -> int:
    return 1 + bisect_right([cut for cut in cuts if cut is not None], value)


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
