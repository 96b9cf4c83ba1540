"""Buttons and modals: log a touch, snooze, edit the plan, pick an account."""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import select

from bot.messages.card import status_card
from bot.messages.format import ERROR_SHOWN, KIND_EMOJI, with_article
from bot.messages.ids import Action, BlockId, View
from bot.messages.kit import cut, escape, notice
from bot.messages.modals import SNOOZE_CHOICES, log_touch_modal, plan_modal, snooze_modal
from bot.retention.actions import (
    NOTE_MAX,
    REASON_MAX,
    log_touch,
    parse_snooze,
    parse_touch_kind,
    plan_problems,
    require_owner_or_admin,
    save_plan,
)
from bot.retention.errors import InvalidInput, PermissionDenied
from bot.retention.reactions import reminder_message_at
from bot.retention.signals import day_label
from bot.retention.status import account_status
from bot.retention.tactics import tactic_bank
from bot.runtime import Runtime
from handlers.common import (
    Reply,
    Work,
    ack_budget,
    actor_for,
    note_tactics_shown,
    post_once,
    response_url_prefixes,
    snooze_and_confirm,
    user_today,
)
from handlers.errors import form_check
from handlers.events import HomePublisher
from handlers.payloads import ModalMetadata, button_account_id, modal_metadata
from handlers.reminders import refresh_reminder_message
from models import Account, AccountPlan

log = logging.getLogger(__name__)
SNOOZE_LENGTHS = {value for value, _ in SNOOZE_CHOICES}


def any_of(action_id: str) -> re.Pattern:
    """Matches `action_id` and its numbered forms (`account_show:14`): buttons in one
    block need action_ids of their own."""
    return re.compile(rf"^{re.escape(action_id)}(:\d+)?$")


def _existing_account_id(session, body: dict) -> int:
    """The account a button is about (its value, checked); a clear message if it was
    deleted since."""
    account_id = button_account_id(body)
    if session.get(Account, account_id) is None:
        raise InvalidInput(
            "That account no longer exists (it may have been merged or removed in the CRM). "
            "Look it up again with `/account NAME`."
        )
    return account_id


def _origin(body: dict) -> dict:
    """Where a button was pressed, so the modal's result can be reported back there."""
    origin: dict = {}
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id"
    )
    if channel:
        origin["channel"] = channel
    message_ts = (body.get("container") or {}).get("message_ts")
    if message_ts and not (body.get("container") or {}).get("is_ephemeral"):
        origin["message_ts"] = message_ts
    if body.get("response_url"):
        origin["response_url"] = body["response_url"]
    if (body.get("view") or {}).get("type") == "home":
        origin["home"] = 1  # refresh the Home afterwards: the account moved on
    return origin


def open_plan_modal(
    runtime: Runtime, client: WebClient, *, trigger_id: str, account_id: int, user_id: str
) -> None:
    with runtime.db.session() as session:
        account = session.get(Account, account_id)
        require_owner_or_admin(
            session=session,
            actor=actor_for(runtime, user_id),
            account=account,
            what="change the plan",
        )
        plan = session.exec(select(AccountPlan).where(AccountPlan.account_id == account_id)).first()
        view = plan_modal(
            account_id=account_id,
            account_name=account.name,
            today=user_today(runtime, user_id),
            tactics=tactic_bank().values(),
            current_state=plan.current_state if plan else "",
            target_state=plan.target_state if plan else "",
            horizon=plan.horizon if plan else None,
            chosen=[t for t in plan.tactic_ids.split(",") if t] if plan else (),
        )
    client.views_open(trigger_id=trigger_id, view=view)


def _value(view: dict, block_id: str) -> dict:
    return (view["state"]["values"].get(block_id) or {}).get("value") or {}


GONE = (
    "This account no longer exists (merged or removed in the CRM). Close this and look it "
    "up again with /account NAME."
)


def _existing_modal_account(runtime: Runtime, meta: ModalMetadata) -> bool:
    with runtime.db.session() as session:
        return session.get(Account, meta.account_id) is not None


def _meta(runtime: Runtime, view: dict) -> ModalMetadata:
    return modal_metadata(view, allowed_response_urls=response_url_prefixes(runtime.settings))


def register(app: App, runtime: Runtime, work: Work) -> None:
    def accept(ack: Ack, body: dict, context: BoltContext) -> None:
        """Buttons: ack in the request thread; everything else is work (which answers
        its own errors, see Work.lazy)."""
        work.accept(context, body)
        ack()

    def show_account(body: dict, data: dict, reply: Reply, client: WebClient) -> None:
        user_id = body["user"]["id"]
        # Read without the write lock; then note the tactics shown in a short write.
        with runtime.db.session() as session:
            status = account_status(
                session=session,
                account_id=_existing_account_id(session, body),
                now=runtime.now(),
                as_of=user_today(runtime, user_id),
                tier_cadence=runtime.tier_cadence,
                calendars=runtime.calendars,
            )
        note_tactics_shown(runtime, status)
        payload = status_card(status)
        from_pick_list = body["actions"][0].get("block_id") == BlockId.ACCOUNT_PICK
        if body.get("response_url"):
            reply(**payload, response_type="ephemeral", replace_original=from_pick_list)
        else:
            post_once(client, channel=user_id, **payload)

    def open_log_modal(body: dict, data: dict, reply: Reply, client: WebClient) -> None:
        with runtime.db.session() as session:
            account_id = _existing_account_id(session, body)
            name = session.get(Account, account_id).name
        client.views_open(
            trigger_id=body["trigger_id"],
            view=log_touch_modal(
                account_id=account_id,
                account_name=name,
                today=user_today(runtime, body["user"]["id"]),
                **_origin(body),
            ),
        )

    def open_snooze_modal(body: dict, data: dict, reply: Reply, client: WebClient) -> None:
        with runtime.db.session() as session:
            account_id = _existing_account_id(session, body)
            name = session.get(Account, account_id).name
        client.views_open(
            trigger_id=body["trigger_id"],
            view=snooze_modal(account_id=account_id, account_name=name, **_origin(body)),
        )

    def open_plan(body: dict, data: dict, reply: Reply, client: WebClient) -> None:
        with runtime.db.session() as session:
            account_id = _existing_account_id(session, body)
        open_plan_modal(
            runtime,
            client,
            trigger_id=body["trigger_id"],
            account_id=account_id,
            user_id=body["user"]["id"],
        )

    for action_id, do in (
        (Action.SHOW_ACCOUNT, show_account),
        (Action.LOG_TOUCH, open_log_modal),
        (Action.SNOOZE, open_snooze_modal),
        (Action.EDIT_PLAN, open_plan),
    ):
        app.action(any_of(action_id))(ack=accept, lazy=[work.lazy(do)])

    # Modals: the ack function checks the form (validation errors can only go in the
    # ack) and the work writes. Answering Slack first means a busy database can never
    # make Slack show an error for a touch that was in fact logged.

    @form_check("kind", lambda: ack_budget(runtime))
    def check_log(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        try:
            meta = _meta(runtime, view)
        except InvalidInput as error:
            ack(response_action="errors", errors={"kind": error.message})
            return
        if not _existing_modal_account(runtime, meta):
            ack(response_action="errors", errors={"kind": GONE})
            return
        user_id = body["user"]["id"]
        today = user_today(runtime, user_id)
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
        if on is False:
            errors["date"] = "Pick a date from the calendar."
        elif on > today:
            errors["date"] = "A touch can't be in the future."
        elif on < today - timedelta(days=366):
            errors["date"] = "That is more than a year ago; log touches from the past year."
        if note and len(note.strip()) > NOTE_MAX:
            errors["note"] = f"Keep the note under {NOTE_MAX:,} characters."
        if errors:
            ack(response_action="errors", errors=errors)
            return
        work.accept(context, body, meta=meta.model_dump(), kind=kind, on=on, today=today, note=note)
        ack()

    def log_from_modal(body: dict, data: dict, reply: Reply, client: WebClient) -> None:
        meta, kind, on, user_id = data["meta"], data["kind"], data["on"], body["user"]["id"]
        with runtime.db.transaction() as session:
            # Logged from a reminder: credit the tactic it suggested (win rates).
            reminder = None
            if meta.get("channel") and meta.get("message_ts"):
                reminder = reminder_message_at(
                    session=session, channel=meta["channel"], ts=meta["message_ts"]
                )
            log_touch(
                session=session,
                account_id=meta["account_id"],
                kind=kind,
                now=runtime.now(),
                on=on,
                today=data["today"],
                note=data["note"],
                source="button",
                actor=actor_for(runtime, user_id),
                tactic_id=reminder.tactic_id if reminder else None,
            )
            name = session.get(Account, meta["account_id"]).name
        emoji = KIND_EMOJI.get(kind, "✅")
        _report(
            client,
            runtime,
            user_id,
            meta,
            f"{emoji} Logged {with_article(kind)} on *{escape(name)}* ({day_label(on)}).",
            ack_line=f"{emoji} {kind.capitalize()} logged by <@{user_id}>",
        )

    @form_check("length", lambda: ack_budget(runtime))
    def check_snooze(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        try:
            meta = _meta(runtime, view)
        except InvalidInput as error:
            ack(response_action="errors", errors={"length": error.message})
            return
        if not _existing_modal_account(runtime, meta):
            ack(response_action="errors", errors={"length": GONE})
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

    def snooze_from_modal(body: dict, data: dict, reply: Reply, client: WebClient) -> None:
        meta, until, user_id = data["meta"], data["until"], body["user"]["id"]
        text = snooze_and_confirm(
            runtime, meta["account_id"], until=until, reason=data["reason"], user_id=user_id
        )
        _report(
            client,
            runtime,
            user_id,
            meta,
            text,
            ack_line=f"💤 Snoozed until {day_label(until, year=False)} by <@{user_id}>",
        )

    @form_check("current_state", lambda: ack_budget(runtime))
    def check_plan(ack: Ack, body: dict, view: dict, context: BoltContext) -> None:
        try:
            meta = _meta(runtime, view)
        except InvalidInput as error:
            ack(response_action="errors", errors={"current_state": error.message})
            return
        if not _existing_modal_account(runtime, meta):
            ack(response_action="errors", errors={"current_state": GONE})
            return
        user_id = body["user"]["id"]
        horizon = _picked_date(view, "horizon")
        tactics = [o["value"] for o in _value(view, "tactics").get("selected_options") or []]
        current_state = _value(view, "current_state").get("value") or ""
        target_state = _value(view, "target_state").get("value") or ""
        with runtime.db.session() as session:
            try:
                # private_metadata comes back from the client: check the account again.
                require_owner_or_admin(
                    session=session,
                    actor=actor_for(runtime, user_id),
                    account=session.get(Account, meta.account_id),
                    what="change the plan",
                )
            except PermissionDenied as error:
                # The first sentence ("Only Ana Ruiz (the account owner) or a Rebuy admin
                # can change the plan for …") fits the field; the advice does not.
                first = error.message.split(". ")[0].rstrip(".") + "."
                ack(response_action="errors", errors={"current_state": cut(first, ERROR_SHOWN)})
                return
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

    def save_plan_from_modal(body: dict, data: dict, reply: Reply, client: WebClient) -> None:
        meta, user_id = data["meta"], body["user"]["id"]
        with runtime.db.transaction() as session:
            plan = save_plan(
                session=session,
                account_id=meta["account_id"],
                current_state=data["current_state"],
                target_state=data["target_state"],
                horizon=data["horizon"],
                tactic_ids=data["tactics"],
                now=runtime.now(),
                actor=actor_for(runtime, user_id),
                known_tactics=set(tactic_bank()),
            )
            name = session.get(Account, plan.account_id).name
        text = f"📋 Plan saved for *{escape(name)}*: aiming for {day_label(plan.horizon)}."
        _tell(client, user_id, meta, notice(text))

    app.view(View.LOG_MODAL)(ack=check_log, lazy=[work.lazy(log_from_modal)])
    app.view(View.SNOOZE_MODAL)(ack=check_snooze, lazy=[work.lazy(snooze_from_modal)])
    app.view(View.PLAN_MODAL)(ack=check_plan, lazy=[work.lazy(save_plan_from_modal)])


def _picked_date(view: dict, block_id: str) -> date | bool | None:
    """The date picked in a modal; None when empty, False when it is not a date."""
    picked = _value(view, block_id).get("selected_date")
    if not picked:
        return None
    try:
        return date.fromisoformat(picked)
    except (TypeError, ValueError):
        return False


def _report(
    client: WebClient, runtime: Runtime, user_id: str, meta: dict, text: str, *, ack_line: str
) -> None:
    """After a modal: acknowledge on the reminder it came from, if any, and confirm
    privately where the button was pressed."""
    if meta.get("channel") and meta.get("message_ts"):
        refresh_reminder_message(
            runtime, client, channel=meta["channel"], ts=meta["message_ts"], extra=[ack_line]
        )
    if meta.get("home"):
        for background in runtime.caches.get("background", []):
            if isinstance(background, HomePublisher):
                background.request(client, user_id)
    _tell(client, user_id, meta, notice(text))


def _tell(client: WebClient, user_id: str, meta: dict, payload: dict) -> None:
    """A private confirmation where the user was: through the button's response_url
    (works in any channel), else an ephemeral message, else the app's DM. The next way
    is tried only when Slack refused the last (4xx, ok=false): after a 5xx or a dropped
    connection it may have been shown, and the rep must not get it twice. The work is
    already done, so a failure here is logged, never shown as an error."""
    attempts = []
    if meta.get("response_url"):
        attempts.append(
            lambda: Reply(meta["response_url"])(
                **payload, response_type="ephemeral", replace_original=False
            )
        )
    if meta.get("channel"):
        attempts.append(
            lambda: client.chat_postEphemeral(channel=meta["channel"], user=user_id, **payload)
        )
    attempts.append(lambda: client.chat_postMessage(channel=user_id, **payload))
    for attempt in attempts:
        try:
            result = attempt()
        except SlackApiError as error:
            if error.response.status_code >= 500:
                # Slack may have shown it before failing: never a second copy.
                log.warning(
                    "confirmation answered %s; it may have been shown", error.response.status_code
                )
                return
            log.info("confirmation not delivered that way: %s", error)
            continue
        except OSError as error:
            log.warning("confirmation failed (%s); it may have been shown", error)
            return
        status = getattr(result, "status_code", 200)
        if status < 400:
            return
        if status >= 500:
            log.warning("confirmation answered %s; it may have been shown", status)
            return
    log.warning("could not confirm to %s", user_id)
