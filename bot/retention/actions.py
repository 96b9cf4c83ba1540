"""What a rep does to an account: log a touch, snooze it, set its plan (and undo)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.retention.errors import InvalidForm, InvalidInput, PermissionDenied
from bot.retention.limits import MAX_CADENCE_DAYS
from bot.retention.outbox import enqueue_touch, take_back
from bot.retention.signals import day_label
from bot.retention.tactics.plans import set_plan_tactic_ids
from bot.retention.touch_kinds import parse_touch_kind
from models import Account, AccountPlan, Rep, Snooze, Touch

NOTE_MAX = 2000
REASON_MAX = 500
PLAN_TEXT_MAX = 1000
PLAN_MIN_MONTHS, PLAN_MAX_MONTHS = 3, 5


@dataclass(frozen=True)
class Actor:
    """Who is acting, as Slack knows them, and whether they are an admin."""

    slack_user_id: str | None
    is_admin: bool = False


def rep_for_slack_user(*, session: Session, slack_user_id: str | None) -> Rep | None:
    if not slack_user_id:
        return None
    return session.exec(select(Rep).where(Rep.slack_user_id == slack_user_id)).first()


def owns(*, session: Session, actor: Actor, account: Account) -> bool:
    rep = rep_for_slack_user(session=session, slack_user_id=actor.slack_user_id)
    return rep is not None and account.owner_id == rep.id


def require_owner_or_admin(*, session: Session, actor: Actor, account: Account, what: str) -> None:
    """Changing another rep's account (plan, cadence, owner) is for admins."""
    if (
        actor.is_admin
        or account.owner_id is None
        or owns(session=session, actor=actor, account=account)
    ):
        return
    owner = session.get(Rep, account.owner_id)
    # Plain text, like every domain message: the Slack layer escapes it for mrkdwn.
    who = f"{owner.name or owner.email} (the account owner)" if owner else "the account owner"
    raise PermissionDenied(
        f"Only {who} or a Rebuy admin can {what} for {account.name}. "
        "Ask them, or ask your sales-ops admin to add you to ADMIN_USER_IDS."
    )


_DURATION = re.compile(r"^(\d{1,3})\s*(d|day|days|w|wk|week|weeks|m|mo|month|months)$")


def parse_snooze(text: str, *, today: date) -> date:
    """'2w', '10d', '1m', '3 weeks' or a date (YYYY-MM-DD) -> the day the snooze ends."""
    value = text.strip().lower()
    match = _DURATION.match(value)
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        if amount == 0:
            raise InvalidInput("Snooze for at least one day, e.g. `2w`.")
        if unit.startswith("d"):
            until = today + timedelta(days=amount)
        elif unit.startswith("w"):
            until = today + timedelta(weeks=amount)
        else:
            until = today + relativedelta(months=amount)
    else:
        try:
            until = date.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                f"“{text}” is not a snooze length: use e.g. `1w`, `2w`, `10d`, `1m` "
                "or a date like 2026-07-01."
            ) from None
    if until <= today:
        raise InvalidInput(f"The snooze must end after today ({day_label(today)}).")
    if until > today + timedelta(days=366):
        raise InvalidInput("Snoozes can last a year at most.")
    return until


def log_touch(
    *,
    session: Session,
    account_id: int,
    kind: str,
    now: datetime,
    actor: Actor,
    source: str,
    on: date | None = None,
    today: date | None = None,
    note: str | None = None,
    tactic_id: str | None = None,
    dedupe_key: str | None = None,
) -> Touch | None:
    """Record a touch. With a `dedupe_key`, a second identical call records nothing and
    returns None: the database's unique constraint decides, so retries across threads,
    processes and instances cannot double-log."""
    kind = parse_touch_kind(kind)
    note = (note or "").strip() or None
    if note and len(note) > NOTE_MAX:
        raise InvalidInput(f"The note is {len(note)} characters; keep it under {NOTE_MAX}.")
    # `today` is the acting rep's own date (a Tokyo morning is still yesterday in UTC).
    today = today or now.date()
    touched_at = now
    if on is not None:
        if on > today:
            raise InvalidInput("A touch can't be logged in the future.")
        touched_at = now if on == today else datetime.combine(on, time(12), tzinfo=UTC)
    rep = rep_for_slack_user(session=session, slack_user_id=actor.slack_user_id)
    touch = Touch(
        account_id=account_id,
        kind=kind,
        touched_at=touched_at,
        rep_id=rep.id if rep else None,
        slack_user_id=actor.slack_user_id,
        note=note,
        source=source,
        tactic_id=tactic_id,
        dedupe_key=dedupe_key,
        created_at=now,
    )
    if dedupe_key is None:
        session.add(touch)
        session.flush()
        enqueue_touch(session=session, touch=touch, now=now)
        return touch
    try:
        with session.begin_nested():
            session.add(touch)
    except IntegrityError:
        return None
    # Same transaction as the touch: written to the CRM exactly when the touch stays.
    enqueue_touch(session=session, touch=touch, now=now)
    return touch


def undo_touch(*, session: Session, dedupe_key: str, now: datetime | None = None) -> Touch | None:
    """Take back a touch logged with `dedupe_key` (a removed reaction); the removed row.
    Its CRM write-back is cancelled, or the CRM activity deleted if it was sent."""
    touch = session.exec(select(Touch).where(Touch.dedupe_key == dedupe_key)).first()
    if touch is not None:
        assert touch.id is not None
        take_back(session=session, touch_id=touch.id, now=now or touch.created_at)
        session.delete(touch)
        session.flush()
    return touch


def snooze_account(
    *,
    session: Session,
    account_id: int,
    until: date,
    now: datetime,
    actor: Actor,
    reason: str | None = None,
    dedupe_key: str | None = None,
) -> Snooze | None:
    """Push the next touch to `until`. Same exactly-once rule as `log_touch`."""
    reason = (reason or "").strip() or None
    if reason and len(reason) > REASON_MAX:
        raise InvalidInput(f"The reason is {len(reason)} characters; keep it under {REASON_MAX}.")
    if until <= now.date():
        raise InvalidInput("The snooze must end after today.")
    snooze = Snooze(
        account_id=account_id,
        until=until,
        reason=reason,
        slack_user_id=actor.slack_user_id,
        dedupe_key=dedupe_key,
        created_at=now,
    )
    if dedupe_key is None:
        session.add(snooze)
        session.flush()
        return snooze
    try:
        with session.begin_nested():
            session.add(snooze)
    except IntegrityError:
        return None
    return snooze


def undo_snooze(*, session: Session, dedupe_key: str) -> Snooze | None:
    snooze = session.exec(select(Snooze).where(Snooze.dedupe_key == dedupe_key)).first()
    if snooze is not None:
        session.delete(snooze)
        session.flush()
    return snooze


@dataclass(frozen=True)
class PlanProblem:
    """A plan field that needs fixing; `field` names the form input."""

    field: str
    message: str


def plan_problems(
    *,
    current_state: str,
    target_state: str,
    horizon: date | None,
    today: date,
    tactic_ids: list[str],
    known_tactics: set[str],
) -> list[PlanProblem]:
    problems = []
    if not current_state.strip():
        problems.append(PlanProblem("current_state", "Say where the account is today."))
    elif len(current_state) > PLAN_TEXT_MAX:
        problems.append(PlanProblem("current_state", f"Keep it under {PLAN_TEXT_MAX} characters."))
    if not target_state.strip():
        problems.append(PlanProblem("target_state", "Say where you want it to be."))
    elif len(target_state) > PLAN_TEXT_MAX:
        problems.append(PlanProblem("target_state", f"Keep it under {PLAN_TEXT_MAX} characters."))
    earliest = today + relativedelta(months=PLAN_MIN_MONTHS)
    latest = today + relativedelta(months=PLAN_MAX_MONTHS)
    if horizon is None:
        problems.append(PlanProblem("horizon", "Pick the date the plan aims for."))
    elif not earliest <= horizon <= latest:
        problems.append(
            PlanProblem(
                "horizon",
                f"Aim 3 to 5 months ahead: between {day_label(earliest)} and {day_label(latest)}.",
            )
        )
    unknown = [t for t in tactic_ids if t not in known_tactics]
    if unknown:
        problems.append(PlanProblem("tactics", f"Unknown tactics: {', '.join(unknown)}."))
    return problems


def save_plan(
    *,
    session: Session,
    account_id: int,
    current_state: str,
    target_state: str,
    horizon: date | None,
    tactic_ids: list[str],
    now: datetime,
    actor: Actor,
    known_tactics: set[str],
) -> AccountPlan:
    """Create or replace the account plan. Raises InvalidInput listing every problem, or
    PermissionDenied when the actor neither owns the account nor is an admin."""
    account = session.get(Account, account_id)
    require_owner_or_admin(session=session, actor=actor, account=account, what="change the plan")
    problems = plan_problems(
        current_state=current_state,
        target_state=target_state,
        horizon=horizon,
        today=now.date(),
        tactic_ids=tactic_ids,
        known_tactics=known_tactics,
    )
    if problems:
        raise InvalidForm({problem.field: problem.message for problem in problems})
    plan = session.exec(select(AccountPlan).where(AccountPlan.account_id == account_id)).first()
    if plan is None:
        plan = AccountPlan(
            account_id=account_id,
            current_state="",
            target_state="",
            horizon=horizon,
            updated_at=now,
        )
    plan.current_state = current_state.strip()
    plan.target_state = target_state.strip()
    plan.horizon = horizon
    set_plan_tactic_ids(plan, tactic_ids)
    plan.updated_by = actor.slack_user_id
    plan.updated_at = now
    session.add(plan)
    session.flush()
    return plan


CADENCE_MAX_DAYS = MAX_CADENCE_DAYS


def set_cadence(
    *, session: Session, account_id: int, days: int | None, now: datetime, actor: Actor
) -> Account:
    """Days between touches for one account; None goes back to the tier's default."""
    account = session.get(Account, account_id)
    require_owner_or_admin(session=session, actor=actor, account=account, what="change the cadence")
    if days is not None and not 1 <= days <= CADENCE_MAX_DAYS:
        raise InvalidInput(f"A cadence is 1 to {CADENCE_MAX_DAYS} days between touches.")
    account.cadence_days = days
    account.updated_at = now
    session.add(account)
    session.flush()
    return account


def change_owner(
    *, session: Session, account_id: int, owner_email: str, now: datetime, actor: Actor
) -> tuple[Account, Rep]:
    """Hand an account to another rep (known by the e-mail the CRM uses)."""
    account = session.get(Account, account_id)
    require_owner_or_admin(session=session, actor=actor, account=account, what="change the owner")
    email = owner_email.strip().lower()
    rep = session.exec(select(Rep).where(Rep.email == email)).first()
    if rep is None:
        raise InvalidInput(
            f"No rep has the e-mail {email}. Reps come from the accounts import "
            "(owner_email); ask your admin to add them."
        )
    if not rep.active:
        raise InvalidInput(
            f"{email} is no longer in Slack (`rebuy reps sync` found them gone), so nobody "
            "would be reminded of this account; give it to a rep who is."
        )
    account.owner_id = rep.id
    account.updated_at = now
    session.add(account)
    session.flush()
    return account, rep
