"""Modal submissions: log a touch, snooze, save the plan.

The ack function checks the form (validation errors can only go in the ack) and the
work writes. Answering Slack first means a busy database can never make Slack show an
error for a touch that was in fact logged."""

from __future__ import annotations

from datetime import date, timedelta

from slack_bolt import Ack, App, BoltContext

from bot.delivery.acknowledge import refresh_reminder_message
from bot.messages.format import KIND_EMOJI, with_article
from bot.messages.ids import View
from bot.messages.kit import cut, escape, notice
from bot.messages.modals import SNOOZE_CHOICES
from bot.retention.account_ops import (
    ACCOUNT_GONE,
    account_exists,
    log_named_touch,
    require_plan_editor,
    save_named_plan,
)
from bot.retention.actions import (
    NOTE_MAX,
    REASON_MAX,
    parse_snooze,
    parse_touch_kind,
    plan_problems,
)
from bot.retention.errors import InvalidInput, PermissionDenied
from bot.retention.reactions import button_key
from bot.retention.signals import day_label
from bot.retention.tactics import tactic_bank
from bot.runtime import Runtime
from handlers.common import actor_for, snooze_and_confirm, tell, user_today
from handlers.errors import form_check
from handlers.payloads import ModalMetadata, modal_metadata
from handlers.work import Job, Work, ack_budget, after_ack, response_url_prefixes

SNOOZE_LENGTHS = {value for value, _ in SNOOZE_CHOICES}
TOUCH_DAYS_BACK = 366


def _value(view: dict, block_id: str) -> dict:
    return (view["state"]["values"].get(block_id) or {}).get("value") or {}


def _picked_date(view: dict, block_id: str) -> date | bool | None:
    """The date picked in a modal; None when empty, False when it is not a date."""
    picked = _value(view, block_id).get("selected_date")
    if not picked:
        return None
    try:
        return date.fromisoformat(picked)
    except (TypeError, ValueError):
        return False


def _live_meta(ack: Ack, runtime: Runtime, view: dict, field: str) -> ModalMetadata | None:
    """The modal's checked metadata for a live account; None after acking the error."""
    try:
        meta = modal_metadata(view, allowed_response_urls=response_url_prefixes(runtime.settings))
    except InvalidInput as error:
        ack(response_action="errors", errors={field: error.message})
        return None
    with runtime.db.session() as session:
        if not account_exists(session=session, account_id=meta.account_id):
            ack(response_action="errors", errors={field: ACCOUNT_GONE})
            return None
    return meta


# --- log a touch --------------------------------------------------------------------------


def _touch_day_problem(on: date | bool, today: date) -> str | None:
    if on is False:
        return "Pick a date from the calendar."
    if on > today:
        return "A touch can't be in the future."
    if on < today - timedelta(days=TOUCH_DAYS_BACK):
        return "That is more than a year ago; log touches from the past year."
    return None


@form_check("kind", budget=ack_budget)
def check_log(
    ack: Ack, body: dict, view: dict, context: BoltContext, runtime: Runtime, work: Work
) -> None:
    meta = _live_meta(ack, runtime, view, "kind")
    if meta is None:
        return
    today = user_today(runtime, body["user"]["id"])
    note = _value(view, "note").get("value")
    errors = {}
    kind = "note"
    try:
        kind = parse_touch_kind(
            (_value(view, "kind").get("selected_option") or {}).get("value", "note")
        )
    except InvalidInput as error:
        errors["kind"] = error.message
    on = _picked_date(view, "date") or today
    problem = _touch_day_problem(on, today)
    if problem:
        errors["date"] = problem
    if note and len(note.strip()) > NOTE_MAX:
        errors["note"] = f"Keep the note under {NOTE_MAX:,} characters."
    if errors:
        ack(response_action="errors", errors=errors)
        return
    work.accept(context, body, meta=meta.model_dump(), kind=kind, on=on, today=today, note=note)
    ack()


def log_from_modal(job: Job) -> None:
    meta, kind, on, user_id = job.data["meta"], job.data["kind"], job.data["on"], job.user_id
    from_reminder = meta.get("channel") and meta.get("message_ts")
    with job.runtime.db.transaction() as session:
        # Logged from a reminder: credit the tactic it suggested (win rates).
        logged = log_named_touch(
            session=session,
            account_id=meta["account_id"],
            kind=kind,
            on=on,
            today=job.data["today"],
            note=job.data["note"],
            now=job.runtime.now(),
            actor=actor_for(job.runtime, user_id),
            source="button",
            reminder=(meta["channel"], meta["message_ts"]) if from_reminder else None,
            dedupe_key=_reminder_key(job),
        )
    emoji = KIND_EMOJI.get(kind, "✅")
    _report(
        job, f"{emoji} Logged {with_article(kind)} on *{escape(logged.name)}* ({day_label(on)})."
    )


# --- snooze -----------------------------------------------------------------------------------


@form_check("length", budget=ack_budget)
def check_snooze(
    ack: Ack, body: dict, view: dict, context: BoltContext, runtime: Runtime, work: Work
) -> None:
    meta = _live_meta(ack, runtime, view, "length")
    if meta is None:
        return
    length = (_value(view, "length").get("selected_option") or {}).get("value")
    reason = (_value(view, "reason").get("value") or "").strip()
    if length not in SNOOZE_LENGTHS:
        ack(response_action="errors", errors={"length": "Pick 1, 2 or 4 weeks."})
        return
    if len(reason) > REASON_MAX:
        ack(response_action="errors", errors={"reason": f"Keep it under {REASON_MAX}."})
        return
    until = parse_snooze(length, today=user_today(runtime, body["user"]["id"]))
    work.accept(context, body, meta=meta.model_dump(), until=until, reason=reason)
    ack()


def snooze_from_modal(job: Job) -> None:
    meta, until, user_id = job.data["meta"], job.data["until"], job.user_id
    text = snooze_and_confirm(
        job.runtime,
        meta["account_id"],
        until=until,
        reason=job.data["reason"],
        user_id=user_id,
        dedupe_key=_reminder_key(job),
    )
    _report(job, text)


# --- the plan ---------------------------------------------------------------------------------


def _plan_editor_problem(runtime: Runtime, meta: ModalMetadata, user_id: str) -> str | None:
    """private_metadata comes back from the client: check the account again."""
    with runtime.db.session() as session:
        try:
            require_plan_editor(
                session=session, account_id=meta.account_id, actor=actor_for(runtime, user_id)
            )
        except PermissionDenied as error:
            # The first sentence ("Only Ana Ruiz (the account owner) or a Rebuy admin
            # can change the plan for …") fits the field; the advice does not.
            first = error.message.split(". ")[0].rstrip(".") + "."
            return cut(first, 150)
    return None


@form_check("current_state", budget=ack_budget)
def check_plan(
    ack: Ack, body: dict, view: dict, context: BoltContext, runtime: Runtime, work: Work
) -> None:
    meta = _live_meta(ack, runtime, view, "current_state")
    if meta is None:
        return
    user_id = body["user"]["id"]
    denied = _plan_editor_problem(runtime, meta, user_id)
    if denied:
        ack(response_action="errors", errors={"current_state": denied})
        return
    horizon = _picked_date(view, "horizon")
    tactics = [o["value"] for o in _value(view, "tactics").get("selected_options") or []]
    current_state = _value(view, "current_state").get("value") or ""
    target_state = _value(view, "target_state").get("value") or ""
    problems = plan_problems(
        current_state=current_state,
        target_state=target_state,
        horizon=horizon or None,
        today=user_today(runtime, user_id),
        tactic_ids=tactics,
        known_tactics=set(tactic_bank()),
    )
    if problems or horizon is False:
        errors = {problem.field: problem.message for problem in problems}
        if horizon is False:
            errors["horizon"] = "Pick a date from the calendar."
        ack(response_action="errors", errors=errors)
        return
    work.accept(
        context,
        body,
        meta=meta.model_dump(),
        horizon=horizon,
        tactics=tactics,
        current_state=current_state,
        target_state=target_state,
    )
    ack()


def save_plan_from_modal(job: Job) -> None:
    meta, data = job.data["meta"], job.data
    with job.runtime.db.transaction() as session:
        saved = save_named_plan(
            session=session,
            account_id=meta["account_id"],
            current_state=data["current_state"],
            target_state=data["target_state"],
            horizon=data["horizon"],
            tactic_ids=data["tactics"],
            now=job.runtime.now(),
            actor=actor_for(job.runtime, job.user_id),
            known_tactics=set(tactic_bank()),
        )
    text = f"📋 Plan saved for *{escape(saved.name)}*: aiming for {day_label(saved.horizon)}."
    tell(job.client, job.user_id, meta, notice(text))


def _reminder_key(job: Job) -> str | None:
    """A touch or snooze from a form opened on a reminder is keyed by the reminder and
    the form: the reminder's acknowledgement lines list it (after later reactions too)."""
    meta = job.data["meta"]
    if not (meta.get("channel") and meta.get("message_ts")):
        return None
    return button_key(meta["channel"], meta["message_ts"], job.body["view"]["id"])


def _report(job: Job, text: str) -> None:
    """After a modal: acknowledge on the reminder it came from, if any (a line per touch
    and snooze logged on it), refresh the Home it came from, and confirm privately where
    the button was pressed."""
    meta = job.data["meta"]
    if meta.get("channel") and meta.get("message_ts"):
        refresh_reminder_message(
            job.runtime, job.client, channel=meta["channel"], ts=meta["message_ts"]
        )
    if meta.get("home"):
        job.homes.request(job.client, job.user_id)
    tell(job.client, job.user_id, meta, notice(text))


def register(app: App) -> None:
    app.view(View.LOG_MODAL)(ack=check_log, lazy=[after_ack(log_from_modal)])
    app.view(View.SNOOZE_MODAL)(ack=check_snooze, lazy=[after_ack(snooze_from_modal)])
    app.view(View.PLAN_MODAL)(ack=check_plan, lazy=[after_ack(save_plan_from_modal)])
