"""`/account log` and `/account snooze`, the "what kind of touch was it?" buttons, and
Undo after a guessed name."""

from __future__ import annotations

from slack_bolt import App

from bot.messages.format import with_article
from bot.messages.ids import Action
from bot.messages.kit import escape, notice
from bot.messages.log import kind_question, with_undo
from bot.messages.pick import quoted
from bot.retention.account_ops import account_name, snooze_named
from bot.retention.actions import NOTE_MAX, REASON_MAX
from bot.retention.dates import day_label
from bot.retention.log_text import check_length, read_log_text, read_snooze_text
from bot.retention.undo import take_back
from bot.retention.when import check_touch_day
from handlers.common import (
    actor_for,
    any_of,
    guessed,
    log_and_confirm,
    message_key,
    new_key,
    resolve,
    resolve_match,
    user_today,
)
from handlers.payloads import kind_choice, undo_value
from handlers.work import Job, accept, after_ack

# --- the commands ---------------------------------------------------------------------------


def log_from_command(job: Job, verb: str, args: list[str], reply) -> None:
    """`/account log acme call yesterday talked renewal`: log it (with Undo when the name
    was a guess), or ask the kind when the text did not say."""
    runtime, user_id = job.runtime, job.user_id
    today = user_today(runtime, user_id)
    with runtime.db.session() as session:
        text = read_log_text(session=session, args=args, today=today)
        check_length(text.note, NOTE_MAX, "note")
        match = resolve_match(session, text.query, reply, verb="log", pending=text.pending())
        if match is None:
            return
        name = account_name(session=session, account_id=match.account_id)
    query = text.query if guessed(match) else None
    if text.kind is None:
        question = kind_question(
            account_id=match.account_id,
            name=name,
            on=text.on,
            today=today,
            note=text.note,
            query=query,
        )
        reply(question, private=True)
        return
    key = new_key() if query else None
    reply(
        log_and_confirm(
            runtime, match.account_id, kind=text.kind, on=text.on, note=text.note,
            user_id=user_id, today=today, query=query, key=key,
        )
    )  # fmt: skip


def snooze_from_command(job: Job, verb: str, args: list[str], reply) -> None:
    """`/account snooze acme 2w buyer on leave` (with Undo when the name was a guess)."""
    runtime, user_id = job.runtime, job.user_id
    snooze = read_snooze_text(args, today=user_today(runtime, user_id))
    check_length(snooze.reason, REASON_MAX, "reason")
    match = resolve(runtime, snooze.query, reply, verb="snooze", pending=snooze.pending())
    if match is None:
        return
    key = new_key() if guessed(match) else None
    with runtime.db.transaction() as session:
        name = snooze_named(
            session=session,
            account_id=match.account_id,
            until=snooze.until,
            reason=snooze.reason,
            now=runtime.now(),
            actor=actor_for(runtime, user_id),
            dedupe_key=key,
        )
    guess = f" (the closest match to {quoted(snooze.query)})" if key else ""
    text = f"💤 *{escape(name)}*{guess} snoozed until {day_label(snooze.until)}."
    reply(with_undo(text, what="snooze", key=key))


# The `/account` verbs this surface answers (wired by `handlers.register`).
SUBCOMMANDS = {"log": log_from_command, "snooze": snooze_from_command}


# --- the buttons ----------------------------------------------------------------------------


def finish_kind(job: Job) -> None:
    """A button of "what kind of touch was it?": log it and replace the question."""
    choice = kind_choice(job.body)  # checked: a tampered value gets a clear message
    user_id = job.user_id
    today = user_today(job.runtime, user_id)
    if choice.on is not None:
        check_touch_day(choice.on, today=today)
    payload = log_and_confirm(
        job.runtime, choice.id, kind=choice.kind, on=choice.on, note=choice.note,
        user_id=user_id, today=today, query=choice.q, key=message_key(job.body, user_id),
    )  # fmt: skip
    job.reply(**payload, response_type="ephemeral", replace_original=True)


def finish_undo(job: Job) -> None:
    """The Undo button: take back exactly that touch or snooze, once."""
    value = undo_value(job.body)
    with job.runtime.db.transaction() as session:
        undone = take_back(
            session=session,
            what=value.what,
            key=value.key,
            slack_user_id=job.user_id,
            now=job.runtime.now(),
        )
    if undone is None:
        text = "↩️ Already undone."
    elif undone.what == "touch":
        what = with_article(undone.kind or "touch")
        text = f"↩️ Undone: {what} on *{escape(undone.account_name)}* is no longer logged."
    else:
        text = f"↩️ Undone: *{escape(undone.account_name)}* is no longer snoozed."
    job.reply(**notice(text), replace_original=True)


def register(app: App) -> None:
    app.action(any_of(Action.LOG_KIND))(ack=accept, lazy=[after_ack(finish_kind)])
    app.action(Action.UNDO)(ack=accept, lazy=[after_ack(finish_undo)])
