"""Buttons and modals: log a touch, snooze, edit the plan, pick an account."""

from __future__ import annotations

import logging
from datetime import date

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from sqlmodel import select

from bot.retention.actions import (
    log_touch,
    parse_snooze,
    require_owner_or_admin,
    save_plan,
    snooze_account,
)
from bot.retention.errors import InvalidForm, InvalidInput, PermissionDenied
from bot.retention.signals import day_label
from bot.retention.status import account_status
from bot.retention.tactics import tactic_bank
from bot.runtime import Runtime
from handlers import blocks
from handlers.common import actor_for
from handlers.errors import replying_to_errors
from handlers.reminders import refresh_reminder_message
from models import Account, AccountPlan

log = logging.getLogger(__name__)


def _account_id(body: dict) -> int:
    return int(body["actions"][0]["value"])


def _existing_account_id(session, body: dict) -> int:
    """The account a button is about; a clear message if it was deleted since."""
    account_id = _account_id(body)
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
        view = blocks.plan_modal(
            account_id=account_id,
            account_name=account.name,
            today=runtime.today(),
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


def _modal_account_id(runtime: Runtime, meta: dict) -> int | None:
    """The account a modal is about, or None when it has been deleted since it opened."""
    try:
        account_id = int(meta["account_id"])
    except (KeyError, TypeError, ValueError):
        return None
    with runtime.db.session() as session:
        return account_id if session.get(Account, account_id) is not None else None


def register(app: App, runtime: Runtime) -> None:
    # Buttons ack first and then answer any error themselves (see replying_to_errors).
    @app.action(blocks.SHOW_ACCOUNT)
    def show_account(ack: Ack, body: dict, respond: Respond, client: WebClient) -> None:
        ack()
        with replying_to_errors(body, respond, client):
            user_id = body["user"]["id"]
            with runtime.db.transaction() as session:
                status = account_status(
                    session=session,
                    account_id=_existing_account_id(session, body),
                    now=runtime.now(),
                    tier_cadence=runtime.tier_cadence,
                    record_tactics="card",
                )
            payload = blocks.status_card(status)
            if body.get("response_url"):
                respond(**payload, response_type="ephemeral", replace_original=False)
            else:
                client.chat_postMessage(channel=user_id, **payload)

    @app.action(blocks.LOG_TOUCH)
    def open_log_modal(ack: Ack, body: dict, respond: Respond, client: WebClient) -> None:
        ack()
        with replying_to_errors(body, respond, client):
            with runtime.db.session() as session:
                account_id = _existing_account_id(session, body)
                name = session.get(Account, account_id).name
            client.views_open(
                trigger_id=body["trigger_id"],
                view=blocks.log_touch_modal(
                    account_id=account_id,
                    account_name=name,
                    today=runtime.today(),
                    **_origin(body),
                ),
            )

    @app.action(blocks.SNOOZE)
    def open_snooze_modal(ack: Ack, body: dict, respond: Respond, client: WebClient) -> None:
        ack()
        with replying_to_errors(body, respond, client):
            with runtime.db.session() as session:
                account_id = _existing_account_id(session, body)
                name = session.get(Account, account_id).name
            client.views_open(
                trigger_id=body["trigger_id"],
                view=blocks.snooze_modal(account_id=account_id, account_name=name, **_origin(body)),
            )

    @app.action(blocks.EDIT_PLAN)
    def open_plan(ack: Ack, body: dict, respond: Respond, client: WebClient) -> None:
        ack()
        with replying_to_errors(body, respond, client):
            with runtime.db.session() as session:
                account_id = _existing_account_id(session, body)
            open_plan_modal(
                runtime,
                client,
                trigger_id=body["trigger_id"],
                account_id=account_id,
                user_id=body["user"]["id"],
            )

    @app.view(blocks.LOG_MODAL)
    def submit_log(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        meta = blocks.read_metadata(view)
        user_id = body["user"]["id"]
        account_id = _modal_account_id(runtime, meta)
        if account_id is None:
            ack(response_action="errors", errors={"kind": GONE})
            return
        kind = (_value(view, "kind").get("selected_option") or {}).get("value", "note")
        picked = _value(view, "date").get("selected_date")
        note = _value(view, "note").get("value")
        on = date.fromisoformat(picked) if picked else runtime.today()
        if on > runtime.today():
            ack(response_action="errors", errors={"date": "A touch can't be in the future."})
            return
        try:
            with runtime.db.transaction() as session:
                log_touch(
                    session=session,
                    account_id=account_id,
                    kind=kind,
                    now=runtime.now(),
                    on=on,
                    note=note,
                    source="button",
                    actor=actor_for(runtime, user_id),
                )
                name = session.get(Account, account_id).name
        except InvalidInput as error:
            ack(response_action="errors", errors={"note": error.message})
            return
        ack()
        emoji = blocks.KIND_EMOJI.get(kind, "✅")
        with replying_to_errors(body, None, client):
            _report(
                client,
                runtime,
                user_id,
                meta,
                f"{emoji} Logged a {kind} on *{blocks.escape(name)}* ({day_label(on)}).",
                ack_line=f"{emoji} {kind.capitalize()} logged by <@{user_id}>",
            )

    @app.view(blocks.SNOOZE_MODAL)
    def submit_snooze(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        meta = blocks.read_metadata(view)
        user_id = body["user"]["id"]
        account_id = _modal_account_id(runtime, meta)
        if account_id is None:
            ack(response_action="errors", errors={"length": GONE})
            return
        length = (_value(view, "length").get("selected_option") or {}).get("value", "1w")
        reason = _value(view, "reason").get("value")
        try:
            until = parse_snooze(length, today=runtime.today())
            with runtime.db.transaction() as session:
                snooze_account(
                    session=session,
                    account_id=account_id,
                    until=until,
                    now=runtime.now(),
                    reason=reason,
                    actor=actor_for(runtime, user_id),
                )
                name = session.get(Account, account_id).name
        except InvalidInput as error:
            ack(response_action="errors", errors={"reason": error.message})
            return
        ack()
        with replying_to_errors(body, None, client):
            _report(
                client,
                runtime,
                user_id,
                meta,
                f"💤 *{blocks.escape(name)}* snoozed until {day_label(until)}.",
                ack_line=f"💤 Snoozed until {day_label(until, year=False)} by <@{user_id}>",
            )

    @app.view(blocks.PLAN_MODAL)
    def submit_plan(ack: Ack, body: dict, view: dict, client: WebClient) -> None:
        meta = blocks.read_metadata(view)
        user_id = body["user"]["id"]
        account_id = _modal_account_id(runtime, meta)
        if account_id is None:
            ack(response_action="errors", errors={"current_state": GONE})
            return
        horizon = _value(view, "horizon").get("selected_date")
        tactics = [o["value"] for o in _value(view, "tactics").get("selected_options") or []]
        try:
            with runtime.db.transaction() as session:
                plan = save_plan(
                    session=session,
                    account_id=account_id,
                    current_state=_value(view, "current_state").get("value") or "",
                    target_state=_value(view, "target_state").get("value") or "",
                    horizon=date.fromisoformat(horizon) if horizon else None,
                    tactic_ids=tactics,
                    now=runtime.now(),
                    actor=actor_for(runtime, user_id),
                    known_tactics=set(tactic_bank()),
                )
                name = session.get(Account, plan.account_id).name
        except InvalidForm as error:
            ack(response_action="errors", errors=error.problems)
            return
        except PermissionDenied as error:
            ack(response_action="errors", errors={"current_state": error.message[:150]})
            return
        ack()
        with replying_to_errors(body, None, client):
            client.chat_postMessage(
                channel=user_id,
                **blocks.notice(
                    f"📋 Plan saved for *{blocks.escape(name)}*: "
                    f"aiming for {day_label(plan.horizon)}."
                ),
            )


def _report(
    client: WebClient, runtime: Runtime, user_id: str, meta: dict, text: str, *, ack_line: str
) -> None:
    """After a modal: acknowledge on the reminder it came from, if any, and confirm
    privately where the button was pressed."""
    if meta.get("channel") and meta.get("message_ts"):
        refresh_reminder_message(
            runtime, client, channel=meta["channel"], ts=meta["message_ts"], extra=[ack_line]
        )
    payload = blocks.notice(text)
    if meta.get("channel"):
        client.chat_postEphemeral(channel=meta["channel"], user=user_id, **payload)
    else:
        client.chat_postMessage(channel=user_id, **payload)
