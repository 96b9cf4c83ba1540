"""Who is due now: active, linked reps inside their morning window on a working day.

The window is REMINDER_TIME to REMINDER_CUTOFF in the rep's own time zone (from Slack).
Before it a rep is "waiting"; after it the day is skipped (never sent at night). A day
is a working day unless it is a weekend, a public holiday of the rep's country (else the
workspace's HOLIDAY_COUNTRY), or inside one of the rep's away periods. An away rep's due
accounts go to their cover rep's morning, marked as covered. The first morning after an
away period opens with a short "while you were away" header.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.clock import as_utc
from bot.delivery.common import FINISHED, MAX_ATTEMPTS
from bot.retention.away_status import SlackStatus, away_offer, looks_away
from bot.retention.calendar import (
    Away,
    WorkCalendar,
    away_on,
    away_periods,
    last_return,
    rep_calendar,
)
from bot.retention.dates import NOON
from bot.retention.errors import InvalidInput
from bot.retention.reps import valid_tz
from bot.runtime import Runtime
from bot.settings import Settings
from models import AwayPeriod, ReminderRun, ReminderStatus, Rep

log = logging.getLogger(__name__)


def rep_zone(tz: str | None) -> ZoneInfo:
    """The rep's Slack time zone, UTC when unknown or not a zone."""
    return ZoneInfo(valid_tz(tz) or "UTC")


def local_reminder_day(
    now: datetime,
    tz: str | None,
    reminder_time: clock_time,
    *,
    cutoff: clock_time = NOON,
    calendar: WorkCalendar | None = None,
) -> date | None:
    """The rep's local date when their reminder is due at `now`: a working day in their
    zone (per `calendar`; Monday to Friday without one), with the local time inside
    [`reminder_time`, `cutoff`). None otherwise."""
    local = now.astimezone(rep_zone(tz))
    calendar = calendar or WorkCalendar()
    if not calendar.is_working_day(local.date()):
        return None
    if not reminder_time <= local.time() < cutoff:
        return None
    return local.date()


@dataclass(frozen=True)
class Covered:
    """An away colleague whose due accounts this rep receives today."""

    rep_id: int
    name: str
    back_on: date  # the owner's first working day after the away period


@dataclass(frozen=True)
class RepTarget:
    """A rep to remind, the local date the reminder is for, and what it carries."""

    rep_id: int
    email: str
    name: str | None
    slack_user_id: str
    tz: str
    dm_channel_id: str | None
    local_date: date
    local_time: clock_time = clock_time(9, 0)
    covering: tuple[Covered, ...] = ()
    back_from: Away | None = None  # the away period this morning is the return from
    # The rep's Slack status says they are away through this day: offer to pause.
    away_offer: AwayOffer | None = None


@dataclass(frozen=True)
class AwayOffer:
    last_day: date
    emoji: str | None  # the status as the rep set it, e.g. ":palm_tree:", "Vacationing"
    text: str | None


@dataclass
class SweepPlan:
    targets: list[RepTarget] = field(default_factory=list)
    finished: int = 0  # today's reminder already sent (or nothing was due)
    exhausted: list[str] = field(default_factory=list)  # failed MAX_ATTEMPTS times today
    waiting: int = 0  # before REMINDER_TIME locally
    missed: list[str] = field(default_factory=list)  # past REMINDER_CUTOFF: skipped today
    weekend: int = 0
    holiday: list[str] = field(default_factory=list)  # "email (holiday name)"
    away: list[str] = field(default_factory=list)
    unlinked: list[str] = field(default_factory=list)  # no Slack user yet
    # Away, and no cover's morning carries their accounts today: "email (why)".
    uncovered: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Local:
    rep: Rep
    day: date
    at: clock_time
    calendar: WorkCalendar


def _check_rep(session: Session, rep_email: str | None) -> None:
    """InvalidInput naming the problem when `--rep` names no active rep."""
    if rep_email is not None:
        email = rep_email.strip().lower()
        if not email:
            raise InvalidInput("--rep needs an e-mail address.")
        rep = session.exec(select(Rep).where(Rep.email == email)).first()
        if rep is None:
            raise InvalidInput(f"No rep with e-mail {rep_email}.")
        if not rep.active:
            raise InvalidInput(f"{email} is inactive (their Slack user was deleted).")


def plan_sweep(
    *,
    session: Session,
    now: datetime,
    settings: Settings,
    rep_email: str | None = None,
) -> SweepPlan:
    """Sort the active reps into: to remind now, done today, not yet, window passed, day
    off (weekend, holiday, away), not linked. With `rep_email`, only that rep (plus the
    away colleagues they cover)."""
    plan = SweepPlan()
    _check_rep(session, rep_email)
    local = _local_reps(session, now, settings)
    away, covering = _away_and_covers(session, local, settings, plan)
    wanted = rep_email.strip().lower() if rep_email is not None else None
    candidates = [
        RepTarget(
            rep_id=x.rep.id,
            email=x.rep.email,
            name=x.rep.name,
            slack_user_id=x.rep.slack_user_id,
            tz=valid_tz(x.rep.tz) or "UTC",
            dm_channel_id=x.rep.dm_channel_id,
            local_date=x.day,
            local_time=x.at,
            covering=tuple(covering.get(x.rep.id, ())),
            away_offer=_away_offer(session, x.rep, now),
        )
        for x in local.values()
        if (wanted is None or x.rep.email == wanted) and _due_now(x, plan, away, settings)
    ]
    candidates = _with_returns(session, candidates)
    _split_by_run_state(session, plan, candidates)
    return plan


def _local_reps(session: Session, now: datetime, settings: Settings) -> dict[int, _Local]:
    """Every active rep with their own day, time of day and working calendar."""
    local: dict[int, _Local] = {}
    for rep in session.exec(select(Rep).where(Rep.active).order_by(Rep.email)):
        calendar = rep_calendar(
            rep,
            default_country=settings.holiday_country,
            default_subdivision=settings.holiday_subdivision,
        )
        moment = now.astimezone(rep_zone(rep.tz))
        local[rep.id] = _Local(rep, moment.date(), moment.time(), calendar)
    return local


def _away_and_covers(
    session: Session, local: dict[int, _Local], settings: Settings, plan: SweepPlan
) -> tuple[dict[int, Away], dict[int, list[Covered]]]:
    """Who is away on their own day, and whose accounts each cover rep receives; an away
    rep whose cover's morning cannot carry them goes to `plan.uncovered`."""
    # A rep may have two back-to-back periods among the sweep's local days (one ending on
    # Monday, the next starting Tuesday): keep the one covering the rep's own day.
    away = {
        a.rep_id: a
        for a in away_on(session=session, days={x.day for x in local.values()})
        if a.rep_id in local and a.covers(local[a.rep_id].day)
    }
    covering: dict[int, list[Covered]] = defaultdict(list)
    for rep_id, period in away.items():
        owner = local[rep_id]
        cover = local.get(period.cover_rep_id) if period.cover_rep_id else None
        gap = _cover_gap(cover, away, settings)
        if gap is not None:
            # Nothing of theirs is dropped on a day they would not work anyway.
            if owner.calendar.is_working_day(owner.day):
                plan.uncovered.append(f"{owner.rep.email}{gap}")
            continue
        name = owner.rep.name or owner.rep.email
        back = owner.calendar.next_working_day(_day_after(period.ends_on))
        covering[cover.rep.id].append(Covered(rep_id, name, back))
    return away, covering


def _due_now(x: _Local, plan: SweepPlan, away: dict[int, Away], settings: Settings) -> bool:
    """Is the rep's reminder due at this moment of their day? If not, `plan` counts why."""
    rep = x.rep
    if not rep.slack_user_id:
        plan.unlinked.append(rep.email)
        return False
    if rep.id in away:
        plan.away.append(rep.email)
        return False
    why_off = x.calendar.why_off(x.day)
    if why_off == "weekend":
        plan.weekend += 1
        return False
    if why_off:
        plan.holiday.append(f"{rep.email} ({why_off})")
        return False
    if x.at < settings.reminder_time:
        plan.waiting += 1
        return False
    if x.at >= settings.reminder_cutoff:
        plan.missed.append(rep.email)
        return False
    return True


def _cover_gap(cover: _Local | None, away: dict[int, Away], settings: Settings) -> str | None:
    """Why the cover rep gets nothing today (" (cover x@y on a public holiday: …)"), ""
    without a cover, or None when the cover's morning carries the accounts."""
    if cover is None:
        return ""
    who = f" (cover {cover.rep.email}"
    if cover.rep.id in away:
        return f"{who} is away too)"
    if not cover.rep.slack_user_id:
        return f"{who} is not linked to Slack)"
    why_off = cover.calendar.why_off(cover.day)
    if why_off == "weekend":
        return f"{who} has their weekend)"
    if why_off:
        return f"{who} has a public holiday: {why_off})"
    if cover.at >= settings.reminder_cutoff:
        return f"{who} is past REMINDER_CUTOFF)"
    return None


def _away_offer(session: Session, rep: Rep, now: datetime) -> AwayOffer | None:
    """An offer to pause reminders when the rep's Slack status says they are away."""
    status = SlackStatus(rep.status_emoji, rep.status_text, as_utc(rep.status_expires_at))
    if status.expires_at is None or not looks_away(status):
        return None
    periods = away_periods(session=session, rep_id=rep.id, today=now.date() - timedelta(days=1))
    last_day = away_offer(
        status,
        now=now,
        tz=valid_tz(rep.tz) or "UTC",
        already_offered=rep.away_offered_until,
        away_days=[(p.starts_on, p.ends_on) for p in periods],
    )
    if last_day is None:
        return None
    return AwayOffer(last_day, status.emoji, status.text)


def _day_after(day: date) -> date:
    return date.fromordinal(day.toordinal() + 1)


def _with_returns(session: Session, candidates: list[RepTarget]) -> list[RepTarget]:
    """Mark each rep's first reminder after an away period: a period ended before today
    and no reminder has been finished for them since."""
    if not candidates:
        return candidates
    today = max(target.local_date for target in candidates)
    ended = last_return(session=session, rep_ids=[t.rep_id for t in candidates], before=today)
    if not ended:
        return candidates
    since = session.execute(
        sa.select(ReminderRun.rep_id, sa.func.max(ReminderRun.local_date))
        .where(ReminderRun.rep_id.in_(list(ended)), ReminderRun.status.in_(FINISHED))
        .group_by(ReminderRun.rep_id)
    )
    last_sent = {rep_id: _as_date(day) for rep_id, day in since}
    marked = []
    for target in candidates:
        end = ended.get(target.rep_id)
        if end is not None and end < target.local_date:
            sent = last_sent.get(target.rep_id)
            if sent is None or sent <= end or sent == target.local_date:
                period = _period_ending(session, target.rep_id, end)
                target = replace(target, back_from=period)
        marked.append(target)
    return marked


def _period_ending(session: Session, rep_id: int, end: date) -> Away | None:
    row = session.exec(
        select(AwayPeriod).where(AwayPeriod.rep_id == rep_id, AwayPeriod.ends_on == end)
    ).first()
    if row is None:
        return None
    return Away(row.id, row.rep_id, row.starts_on, row.ends_on, row.cover_rep_id)


def _as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _split_by_run_state(session: Session, plan: SweepPlan, candidates: list[RepTarget]) -> None:
    runs: dict[tuple[int, date], tuple[str, int]] = {}
    days = {target.local_date for target in candidates}
    if days:
        rows = session.execute(
            sa.select(
                ReminderRun.rep_id, ReminderRun.local_date, ReminderRun.status, ReminderRun.attempts
            ).where(ReminderRun.local_date.in_(days))
        )
        runs = {(rep_id, day): (status, attempts) for rep_id, day, status, attempts in rows}
    for target in candidates:
        status, attempts = runs.get((target.rep_id, target.local_date), (None, 0))
        if status in FINISHED:
            plan.finished += 1
        elif status == ReminderStatus.FAILED and attempts >= MAX_ATTEMPTS:
            plan.exhausted.append(target.email)
        else:
            plan.targets.append(target)


def reps_due_now(runtime: Runtime, now: datetime | None = None) -> list[tuple[RepTarget, date]]:
    """Reps whose reminder is due at `now` and not yet done, with their local date."""
    now = now or runtime.now()
    with runtime.db.session() as session:
        plan = plan_sweep(session=session, now=now, settings=runtime.settings)
    return [(target, target.local_date) for target in plan.targets]
