"""Who is due now: active, linked reps inside their morning window on a working day."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.delivery.common import (
    FINISHED,
    MAX_ATTEMPTS,
)
from bot.retention.errors import InvalidInput
from bot.retention.reps import valid_tz
from bot.runtime import Runtime
from models import ReminderRun, Rep

log = logging.getLogger(__name__)

# --- who is due -------------------------------------------------------------------------


def _zone(tz: str | None) -> ZoneInfo:
    return ZoneInfo(valid_tz(tz) or "UTC")


def local_reminder_day(
    now: datetime, tz: str | None, reminder_time: clock_time, *, any_hour: bool = False
) -> date | None:
    """The rep's local date when their reminder is due at `now`: a working day (Mon-Fri in
    their zone) at or after `reminder_time` local time. None otherwise. `any_hour` drops
    the time-of-day rule (`rebuy remind`), never the working-day rule."""
    local = now.astimezone(_zone(tz))
    if local.weekday() >= 5:
        return None
    if not any_hour and local.time() < reminder_time:
        return None
    return local.date()


@dataclass(frozen=True)
class RepTarget:
    """A rep to remind, and the local date the reminder is for."""

    rep_id: int
    email: str
    name: str | None
    slack_user_id: str
    tz: str
    dm_channel_id: str | None
    local_date: date


@dataclass
class SweepPlan:
    targets: list[RepTarget] = field(default_factory=list)
    finished: int = 0  # today's reminder already sent (or nothing was due)
    exhausted: list[str] = field(default_factory=list)  # failed MAX_ATTEMPTS times today
    waiting: int = 0  # before REMINDER_TIME locally
    weekend: int = 0
    unlinked: list[str] = field(default_factory=list)  # no Slack user yet


def plan_sweep(
    *,
    session: Session,
    now: datetime,
    reminder_time: clock_time,
    force: bool = False,
    rep_email: str | None = None,
) -> SweepPlan:
    """Sort the active reps into: to remind now, already done today, not yet, not linked."""
    query = select(Rep).where(Rep.active).order_by(Rep.email)
    if rep_email is not None:
        email = rep_email.strip().lower()
        if not email:
            raise InvalidInput("--rep needs an e-mail address.")
        rep = session.exec(select(Rep).where(Rep.email == email)).first()
        if rep is None:
            raise InvalidInput(f"No rep with e-mail {rep_email}.")
        if not rep.active:
            raise InvalidInput(f"{email} is inactive (their Slack user was deleted).")
        query = query.where(Rep.email == email)
    reps = list(session.exec(query))
    plan = SweepPlan()
    candidates: list[RepTarget] = []
    for rep in reps:
        if not rep.slack_user_id:
            plan.unlinked.append(rep.email)
            continue
        day = local_reminder_day(now, rep.tz, reminder_time, any_hour=force)
        if day is None:
            if now.astimezone(_zone(rep.tz)).weekday() >= 5:
                plan.weekend += 1
            else:
                plan.waiting += 1
            continue
        candidates.append(
            RepTarget(
                rep_id=rep.id,
                email=rep.email,
                name=rep.name,
                slack_user_id=rep.slack_user_id,
                tz=valid_tz(rep.tz) or "UTC",
                dm_channel_id=rep.dm_channel_id,
                local_date=day,
            )
        )
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
        elif status == "failed" and attempts >= MAX_ATTEMPTS:
            plan.exhausted.append(target.email)
        else:
            plan.targets.append(target)
    return plan


def reps_due_now(runtime: Runtime, now: datetime | None = None) -> list[tuple[RepTarget, date]]:
    """Reps whose reminder is due at `now` and not yet done, with their local date."""
    now = now or runtime.now()
    with runtime.db.session() as session:
        plan = plan_sweep(session=session, now=now, reminder_time=runtime.settings.reminder_time)
    return [(target, target.local_date) for target in plan.targets]
