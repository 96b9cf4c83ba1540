"""Which accounts each rep should contact today, most valuable and most overdue first."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from bot.clock import local_day_start
from bot.retention.backlog import plan_first_touches
from bot.retention.calendar import Calendars
from bot.retention.facts import AccountFacts, day_start, load_facts
from bot.retention.rebuy_model.outlook import outlooks_for, with_outlook
from bot.retention.results import DueAccount
from bot.retention.rfm import score_account, workspace_cutoffs
from bot.retention.signals import (
    compute_signals,
    health_of,
)
from bot.retention.signals import touch_schedule as schedule_of
from bot.retention.tactics import TacticContext, rank_tactics, tactic_bank
from bot.retention.urgency import urgency_key
from models import Account, Rep, TacticExposure, Touch
from models.types import UTCDateTime

# Rotation window of the recommender (recommend_tactics' default): a tactic shown or used
# on the account within it ranks below the unseen ones.
ROTATION_DAYS = 30
# Keeps every IN (...) list well under SQLite's and PostgreSQL's bound-parameter limits.
ID_CHUNK = 5000


def due_by_rep(
    *,
    session: Session,
    as_of: date,
    now: datetime,
    tier_cadence: Mapping[str, int],
    limit: int,
    owner_ids: Collection[int] | None = None,
    with_tactics: bool = True,
    due_counts: dict[int, int] | None = None,
    calendars: Calendars | None = None,
) -> dict[int, list[DueAccount]]:
    """For each rep (owner id), up to `limit` accounts whose next touch is due on or
    before `as_of`, ranked (more on a day the backlog plan gives a rep more first touches
    of newly imported accounts than that: those all come). Reps with nothing due are left
    out. `due_counts`, when given, is filled with how many accounts each rep has due in
    all (before the limit).
    Accounts with no touch logged yet are due on the day the backlog plan gives them
    (bot/retention/backlog.py), never overdue.

    Built for a whole workspace at once: SQL narrows 100k accounts to the few that can be
    due, full facts are loaded for those only, and tactic history for every chosen
    account comes in one query per table.
    """
    wanted = list(owner_ids) if owner_ids is not None else None
    if wanted is not None and not wanted:
        return {}
    candidate_ids = _possibly_due(
        session=session, as_of=as_of, tier_cadence=tier_cadence, owner_ids=wanted
    )
    facts: dict[int, AccountFacts] = {}
    for chunk in _chunks(candidate_ids):
        facts.update(
            load_facts(session=session, as_of=as_of, account_ids=chunk, with_order_days=True)
        )
    plan_first_touches(
        session=session, facts=facts, as_of=as_of, tier_cadence=tier_cadence, calendars=calendars
    )

    outlooks = outlooks_for(session=session, account_ids=list(facts))
    candidates: dict[int, list[DueAccount]] = defaultdict(list)
    for fact in facts.values():
        if fact.owner_id is None:
            continue
        # Snoozes and the exact cadence are applied here; SQL only ruled accounts out.
        schedule = schedule_of(fact, as_of=as_of, tier_cadence=tier_cadence, calendars=calendars)
        if schedule.next_touch_due <= as_of:
            # Urgency needs health, so signals are worked out before sorting.
            signals = compute_signals(fact, as_of=as_of, schedule=schedule)
            signals, outlook = with_outlook(signals, outlooks.get(fact.id), as_of=as_of, facts=fact)
            health = health_of(signals)
            key = urgency_key(fact, schedule, health, outlook)
            candidates[fact.owner_id].append(
                DueAccount(fact, schedule, signals, health, key, outlook=outlook)
            )

    result: dict[int, list[DueAccount]] = {}
    for owner_id, rows in candidates.items():
        rows.sort(key=lambda item: item.urgency_key)
        if due_counts is not None:
            due_counts[owner_id] = len(rows)
        result[owner_id] = rows[: max(limit, _backlog_quota(rows, as_of))]
    if with_tactics:
        _pick_tactics([item for items in result.values() for item in items], session, now, as_of)
    return result


def _backlog_quota(rows: Sequence[DueAccount], as_of: date) -> int:
    """How many first touches a day the backlog plan gives the rep's newly imported
    accounts that are due now (0 when none is): the morning list holds that many even
    past the rep's limit, so a big import is reached within one cadence."""
    return max(
        (
            item.facts.first_touch_quota or 0
            for item in rows
            if item.facts.first_touch_due is not None and item.facts.first_touch_due <= as_of
        ),
        default=0,
    )


def _chunks(ids: Sequence[int], size: int = ID_CHUNK):
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def _possibly_due(
    *,
    session: Session,
    as_of: date,
    tier_cadence: Mapping[str, int],
    owner_ids: list[int] | None,
) -> list[int]:
    """Ids of owned accounts whose next touch, before snoozes, may fall on or before
    `as_of`: every account with no touch yet (the backlog plan decides), and every
    touched one whose last touch is before the start of `as_of - cadence + 1` (moving a
    due date to a working day only makes it later, so this is a superset). Each distinct cadence
    gets its own cut-off bound as a parameter, which keeps the SQL portable (no date
    arithmetic that differs between SQLite and PostgreSQL).
    """
    end = day_start(as_of + timedelta(days=1))
    fallback = max(tier_cadence.values())
    account_cadences = sorted(
        value
        for (value,) in session.execute(
            sa.select(Account.cadence_days).where(Account.cadence_days > 0).distinct()
        )
    )

    def cutoff(cadence: int):
        return sa.bindparam(
            None, day_start(as_of - timedelta(days=cadence - 1)), type_=UTCDateTime()
        )

    whens = [(Account.cadence_days == value, cutoff(value)) for value in account_cadences]
    whens += [
        (Account.tier == tier, cutoff(days or fallback)) for tier, days in tier_cadence.items()
    ]
    due_before = sa.case(*whens, else_=cutoff(fallback))

    last_touch = (
        sa.select(Touch.account_id, sa.func.max(Touch.touched_at).label("at"))
        .where(Touch.touched_at < end)
        .group_by(Touch.account_id)
        .subquery()
    )
    query = (
        sa.select(Account.id)
        .outerjoin(last_touch, last_touch.c.account_id == Account.id)
        .where(
            Account.owner_id.is_not(None),
            Account.archived_at.is_(None),
            sa.or_(last_touch.c.at.is_(None), last_touch.c.at < due_before),
        )
        .order_by(Account.id)
    )
    if owner_ids is not None:
        query = query.where(Account.owner_id.in_(owner_ids))
    return list(session.execute(query).scalars())


def _as_utc(value) -> datetime:
    if isinstance(value, str):  # SQLite aggregates can come back as text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _last_seen_by_account(
    session: Session, account_ids: list[int], now: datetime, today: datetime
) -> dict[int, dict[str, datetime]]:
    """When each tactic was last shown or used on each account, within the rotation window
    (what `recommend_tactics` looks up one account at a time). As there, a tactic shown
    since `today` (the start of the owner's own day) only counts once a touch was logged
    after it, so the advice stays put all day."""
    since = now - timedelta(days=ROTATION_DAYS)
    seen: dict[int, dict[str, datetime]] = defaultdict(dict)
    for chunk in _chunks(account_ids):
        last_touch = (
            sa.select(Touch.account_id, sa.func.max(Touch.touched_at).label("at"))
            .where(Touch.account_id.in_(chunk))
            .group_by(Touch.account_id)
            .subquery()
        )
        shown = (
            sa.select(
                TacticExposure.account_id,
                TacticExposure.tactic_id,
                sa.func.max(TacticExposure.shown_at),
            )
            .outerjoin(last_touch, last_touch.c.account_id == TacticExposure.account_id)
            .where(
                TacticExposure.account_id.in_(chunk),
                TacticExposure.shown_at > since,
                sa.or_(TacticExposure.shown_at < today, TacticExposure.shown_at < last_touch.c.at),
            )
            .group_by(TacticExposure.account_id, TacticExposure.tactic_id)
        )
        used = (
            sa.select(Touch.account_id, Touch.tactic_id, sa.func.max(Touch.touched_at))
            .where(
                Touch.account_id.in_(chunk),
                Touch.tactic_id.is_not(None),
                Touch.touched_at > since,
            )
            .group_by(Touch.account_id, Touch.tactic_id)
        )
        for query in (shown, used):
            for account_id, tactic_id, when in session.execute(query):
                last = seen[account_id]
                when = _as_utc(when)
                if tactic_id and (tactic_id not in last or when > last[tactic_id]):
                    last[tactic_id] = when
    return seen


def _by_owner_day(
    session: Session, items: list[DueAccount], now: datetime
) -> dict[datetime, list[int]]:
    """The accounts grouped by the start of their owner's day (the owner's time zone)."""
    owners = {item.facts.owner_id for item in items}
    zones = dict(session.execute(sa.select(Rep.id, Rep.tz).where(Rep.id.in_(owners))).all())
    groups: dict[datetime, list[int]] = defaultdict(list)
    for item in items:
        groups[local_day_start(now, zones.get(item.facts.owner_id))].append(item.account_id)
    return groups


def _pick_tactics(items: list[DueAccount], session: Session, now: datetime, as_of: date) -> None:
    """One tactic per due account, as `recommend_tactics(limit=1)` would pick it: the
    account's signals, RFM segment and numbers (a tactic whose premise is false for it is
    never offered), rotating away from what the rep saw lately."""
    if not items:
        return
    bank = tactic_bank().values()
    seen: dict[int, dict[str, datetime]] = {}
    for today, ids in _by_owner_day(session, items, now).items():
        seen.update(_last_seen_by_account(session, ids, now, today))
    cutoffs = workspace_cutoffs(session=session, as_of=as_of, now=now)
    for item in items:
        rfm = score_account(item.facts, cutoffs=cutoffs, as_of=as_of)
        picks = rank_tactics(
            bank,
            signals=[signal.name for signal in item.signals],
            segment=rfm.segment,
            now=now,
            last_seen=seen.get(item.account_id) or None,
            limit=1,
            rotation_days=ROTATION_DAYS,
            context=TacticContext.of(item.facts, as_of=as_of, monetary_score=rfm.monetary),
        )
        item.tactic = picks[0] if picks else None
