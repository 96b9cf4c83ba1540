"""Buttons on cards, lists and the Home: show an account, open the log / snooze / plan
modals, and the pick-list buttons that finish what a command asked."""

from __future__ import annotations

from slack_bolt import App

from bot.messages.card import status_card
from bot.messages.ids import Action
from bot.messages.kit import escape, notice
from bot.messages.log import kind_question
from bot.messages.modals import log_touch_modal, snooze_modal
from bot.retention.account_ops import account_card, account_name
from bot.retention.when import check_touch_day
from handlers.common import (
    any_of,
    log_and_confirm,
    message_key,
    note_tactics_shown,
    open_plan_modal,
    reply_or_dm,
    snooze_and_confirm,
    user_today,
)
from handlers.payloads import PickValue, button_account_id, pick_value
from handlers.work import Job, accept, after_ack, post_once


def _origin(body: dict) -> dict:
    """Where a button was pressed, so the modal's result can be reported back there."""
    origin: dict = {}
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    if channel:
        origin["channel"] = channel
    if container.get("message_ts") and not container.get("is_ephemeral"):
        origin["message_ts"] = container["message_ts"]
    if body.get("response_url"):
        origin["response_url"] = body["response_url"]
    if (body.get("view") or {}).get("type") == "home":
        origin["home"] = 1  # refresh the Home afterwards: the account moved on
    return origin


def show_account(job: Job) -> None:
    """A card's or a list's account button: the card (read without the write lock;
    then the tactics shown are noted in a short write)."""
    runtime = job.runtime
    with runtime.db.session() as session:
        status = account_card(
            session=session,
            account_id=button_account_id(job.body),
            now=runtime.now(),
            as_of=user_today(runtime, job.user_id),
            tier_cadence=runtime.tier_cadence,
            calendars=runtime.calendars,
        )
    note_tactics_shown(runtime, status)
    payload = status_card(status)
    from_pick_list = job.body["actions"][0].get("block_id") == "account_pick"
    if job.body.get("response_url"):
        job.reply(**payload, response_type="ephemeral", replace_original=from_pick_list)
    else:
        post_once(job.client, channel=job.user_id, **payload)


def _button_account(job: Job) -> tuple[int, str]:
    """The account a button is about, and its name (AccountGone if deleted since)."""
    account_id = button_account_id(job.body)
    with job.runtime.db.session() as session:
        return account_id, account_name(session=session, account_id=account_id)


def open_log_modal(job: Job) -> None:
    account_id, name = _button_account(job)
    view = log_touch_modal(
        account_id=account_id,
        account_name=name,
        today=user_today(job.runtime, job.user_id),
        **_origin(job.body),
    )
    job.client.views_open(trigger_id=job.body["trigger_id"], view=view)


def open_snooze_modal(job: Job) -> None:
    account_id, name = _button_account(job)
    view = snooze_modal(account_id=account_id, account_name=name, **_origin(job.body))
    job.client.views_open(trigger_id=job.body["trigger_id"], view=view)


def open_plan(job: Job) -> None:
    account_id, _ = _button_account(job)
    open_plan_modal(
        job.runtime,
        job.client,
        trigger_id=job.body["trigger_id"],
        account_id=account_id,
        user_id=job.user_id,
    )


# --- a pick-list button that carries the action -------------------------------------------


def finish_pick(job: Job) -> None:
    """The rep chose an account from a `log` / `snooze` / `plan` pick list: do what they
    asked, and replace the pick list with the confirmation."""
    pending = pick_value(job.body)  # checked: a tampered value gets a clear message
    runtime, user_id = job.runtime, job.user_id
    with runtime.db.session() as session:
        name = account_name(session=session, account_id=pending.id)
    if pending.do == "log":
        reply_or_dm(job, _log_picked(job, pending, name=name), replace_original=True)
        return
    if pending.do == "snooze":
        until = pending.snooze_until(today=user_today(runtime, user_id))
        text = snooze_and_confirm(
            runtime, pending.id, until=until, reason=pending.reason, user_id=user_id
        )
    else:
        open_plan_modal(
            runtime,
            job.client,
            trigger_id=job.body["trigger_id"],
            account_id=pending.id,
            user_id=user_id,
        )
        text = f"📋 Opening the plan for *{escape(name)}*."
    reply_or_dm(job, notice(text), replace_original=True)


def _log_picked(job: Job, pending: PickValue, *, name: str) -> dict:
    """A `log` pick: log it, or ask the kind when the command did not say."""
    today = user_today(job.runtime, job.user_id)
    if pending.on is not None:
        check_touch_day(pending.on, today=today)
    if pending.kind is None:
        return kind_question(
            account_id=pending.id, name=name, on=pending.on, today=today, note=pending.note,
            query=None,
        )  # fmt: skip
    payload = log_and_confirm(
        job.runtime, pending.id, kind=pending.kind, on=pending.on, note=pending.note,
        user_id=job.user_id, today=today, query=None, key=message_key(job.body, job.user_id),
    )  # fmt: skip
    if pending.cut:
        payload = notice(payload["text"] + " (The note was shortened to fit.)")
    return payload


def register(app: App) -> None:
    for action_id, do in (
        (Action.SHOW_ACCOUNT, show_account),
        (Action.LOG_TOUCH, open_log_modal),
        (Action.SNOOZE, open_snooze_modal),
        (Action.EDIT_PLAN, open_plan),
        (Action.PICK_ACCOUNT, finish_pick),
    ):
        app.action(any_of(action_id))(ack=accept, lazy=[after_ack(do)])
