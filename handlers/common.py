"""Helpers the listeners share: who is acting and their today, reps from Slack users,
finding the account a sub-command names, confirmations, and the few steps that
several surfaces finish with (log a touch, snooze, open the plan)."""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta

import sqlalchemy as sa
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.messages.help import help_message
from bot.messages.kit import escape, escape_message, notice
from bot.messages.log import logged_text, with_undo
from bot.messages.modals import plan_modal
from bot.messages.pick import pick_list
from bot.retention import account_ops
from bot.retention.actions import Actor, rep_for_slack_user
from bot.retention.errors import AccountNotFound, AmbiguousAccount
from bot.retention.lookup import Match, find_account_match
from bot.retention.rep_ops import rep_tz
from bot.retention.reps import link_rep
from bot.retention.signals import day_label
from bot.retention.status import AccountStatus
from bot.retention.tactics import tactic_bank
from bot.runtime import Runtime
from handlers.work import Reply
from models import Rep

log = logging.getLogger(__name__)

# A Slack user who is not a rep (a manager, an admin) is asked about again after this long,
# so that /account does not call users.info on every command of theirs.
NOT_A_REP_FOR = timedelta(hours=1)
EXAMPLES = {
    "log": "log acme call",
    "snooze": "snooze acme 2w",
    "plan": "plan acme",
    "cadence": "cadence acme 21",
    "owner": "owner acme ben@yourcompany.com",
}


def any_of(action_id: str) -> re.Pattern:
    """Matches `action_id` and its numbered forms (`account_show:14`): buttons in one
    block need action_ids of their own."""
    return re.compile(rf"^{re.escape(action_id)}(:\d+)?$")


def actor_for(runtime: Runtime, user_id: str | None) -> Actor:
    return Actor(slack_user_id=user_id, is_admin=user_id in runtime.settings.admin_user_ids)


def rep_today(runtime: Runtime, rep: Rep | None) -> date:
    """Today for this rep, in their own Slack time zone."""
    return runtime.today_in(rep.tz if rep else None)


def user_tz(runtime: Runtime, user_id: str | None) -> str | None:
    """The Slack user's time zone, as their rep's (None when not a rep)."""
    with runtime.db.session() as session:
        return rep_tz(session=session, slack_user_id=user_id)


def user_today(runtime: Runtime, user_id: str | None) -> date:
    """Today for the Slack user acting (their rep's zone; UTC when not a rep)."""
    return runtime.today_in(user_tz(runtime, user_id))


def current_rep(*, runtime: Runtime, client: WebClient, user_id: str) -> Rep | None:
    """The Rep behind a Slack user; links them by e-mail on first sight (users.info).

    Opens its own sessions and calls Slack outside any transaction: on SQLite a write
    transaction holds the database lock, and a slow users.info must not hold it too.
    The Rep comes back detached, its columns loaded.
    """
    with runtime.db.session() as session:
        rep = rep_for_slack_user(session=session, slack_user_id=user_id)
    if rep is not None:
        return rep
    not_reps = runtime.caches.setdefault("not_reps", {})
    asked = not_reps.get(user_id)
    if asked is not None and runtime.now() - asked < NOT_A_REP_FOR:
        return None
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as error:
        log.warning("users.info failed for %s: %s", user_id, error.response.get("error"))
        return None
    email = (user.get("profile") or {}).get("email")
    if not email:
        not_reps[user_id] = runtime.now()
        return None
    with runtime.db.transaction() as session:
        rep = link_rep(
            session=session,
            email=email,
            slack_user_id=user_id,
            tz=user.get("tz"),
            name=user.get("real_name") or (user.get("profile") or {}).get("real_name"),
            now=runtime.now(),
        )
    if rep is None:
        not_reps[user_id] = runtime.now()
    return rep


def note_tactics_shown(runtime: Runtime, status: AccountStatus) -> None:
    """Remember the card's tactics (so the next card rotates) in a short write of its own.
    Best effort: the rep still gets the card if this fails."""
    if not status.tactics:
        return
    try:
        with runtime.db.transaction() as session:
            account_ops.record_card_tactics(session=session, status=status, now=runtime.now())
    except sa.exc.SQLAlchemyError:
        log.warning("could not record the tactics shown for account %s", status.id, exc_info=True)


# --- finding the account a sub-command names --------------------------------------------------


def resolve_match(
    session, query: str, reply, *, verb: str, pending: dict | None = None
) -> Match | None:
    """The account and how it was found, or None after privately replying with a pick
    list / did-you-mean.

    With `pending` (what the rep asked to do) the pick-list buttons carry it, so that
    choosing an account finishes the job instead of only showing the card.
    """
    if not query.strip():
        example = EXAMPLES.get(verb, "acme")
        reply(
            help_message(f"Which account? Add its name, e.g. `/account {example}`."),
            private=True,
        )
        return None
    try:
        return find_account_match(session=session, query=query)
    except AmbiguousAccount as error:
        reply(
            pick_list(query, error.candidates, ambiguous=True, total=error.total, pending=pending),
            private=True,
        )
    except AccountNotFound as error:
        reply(not_found(query, error, pending=pending), private=True)
    return None


def resolve(runtime: Runtime, query: str, reply, *, verb: str, pending: dict | None = None):
    """`resolve_match` in a read-only session of its own."""
    with runtime.db.session() as session:
        return resolve_match(session, query, reply, verb=verb, pending=pending)


def not_found(query: str, error: AccountNotFound, *, pending: dict | None = None) -> dict:
    if error.empty:
        return notice(escape_message(error.message))
    payload = pick_list(query, error.candidates, ambiguous=False, pending=pending)
    return payload if error.candidates else help_message(payload["text"])


def guessed(match: Match) -> bool:
    """Was the name typed not exactly the account's name or CRM id (a prefix, a word of
    it, a typo)? Then the answer says which account it acted on, with an Undo."""
    return match.how not in ("id", "name")


def new_key() -> str:
    """A fresh Undo key for a touch or snooze a command made."""
    return f"cmd:{uuid.uuid4().hex}"


def message_key(body: dict, user_id: str) -> str:
    """One key per message a button was pressed on: a second click on it (a double
    click arrives as two requests, each with its own trigger_id) logs nothing more."""
    container = body.get("container") or {}
    where = f"{user_id}:{container.get('channel_id')}:{container.get('message_ts')}"
    if not container.get("message_ts"):
        return new_key()
    return "cmd:" + hashlib.sha256(where.encode()).hexdigest()[:32]


# --- steps several surfaces finish with ---------------------------------------------------------


def log_and_confirm(
    runtime: Runtime,
    account_id: int,
    *,
    kind: str,
    on: date | None,
    note: str | None,
    user_id: str,
    today: date,
    query: str | None,
    key: str | None,
) -> dict:
    """Log the touch in a short write; the confirmation (with Undo when `query` says the
    name was a guess). With `key` a second identical request logs nothing."""
    with runtime.db.transaction() as session:
        logged = account_ops.log_named_touch(
            session=session,
            account_id=account_id,
            kind=kind,
            on=on,
            today=today,
            note=note,
            now=runtime.now(),
            actor=actor_for(runtime, user_id),
            source="command",
            dedupe_key=key,
        )
    if not logged.logged:
        return notice(f"Already logged on *{escape(logged.name)}*.")
    text = logged_text(kind=kind, name=logged.name, on=on, today=today, query=query)
    return with_undo(text, what="touch", key=key if query else None)


def snooze_and_confirm(
    runtime: Runtime,
    account_id: int,
    *,
    until: date,
    reason: str | None,
    user_id: str,
    dedupe_key: str | None = None,
) -> str:
    """Snooze the account as the acting user in a short write; the confirmation line."""
    with runtime.db.transaction() as session:
        name = account_ops.snooze_named(
            session=session,
            account_id=account_id,
            until=until,
            reason=reason,
            now=runtime.now(),
            actor=actor_for(runtime, user_id),
            dedupe_key=dedupe_key,
        )
    return f"💤 *{escape(name)}* snoozed until {day_label(until)}."


def open_plan_modal(
    runtime: Runtime, client: WebClient, *, trigger_id: str, account_id: int, user_id: str
) -> None:
    """The plan modal, for the account's owner or an admin."""
    with runtime.db.session() as session:
        form = account_ops.plan_form(
            session=session, account_id=account_id, actor=actor_for(runtime, user_id)
        )
    view = plan_modal(
        account_id=account_id,
        account_name=form.name,
        today=user_today(runtime, user_id),
        tactics=tactic_bank().values(),
        current_state=form.current_state,
        target_state=form.target_state,
        horizon=form.horizon,
        chosen=form.chosen,
    )
    client.views_open(trigger_id=trigger_id, view=view)


def tell(client: WebClient, user_id: str, meta: dict, payload: dict) -> None:
    """A private confirmation where the user was: through the button's response_url
    (works in any channel), else an ephemeral message, else the app's DM. The next way
    is tried only when Slack refused the last (4xx, ok=false): after a 5xx or a dropped
    connection it may have been shown, and the rep must not get it twice. The work is
    already done, so a failure here is logged, never shown as an error."""
    attempts: list[Callable[[], object]] = []
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
        shown = _try_confirming(attempt)
        if shown is not None:
            return
    log.warning("could not confirm to %s", user_id)


def _try_confirming(attempt: Callable[[], object]) -> bool | None:
    """True: shown; False: may have been shown (stop); None: refused, try the next way."""
    try:
        result = attempt()
    except SlackApiError as error:
        if error.response.status_code >= 500:
            # Slack may have shown it before failing: never a second copy.
            log.warning(
                "confirmation answered %s; it may have been shown", error.response.status_code
            )
            return False
        log.info("confirmation not delivered that way: %s", error)
        return None
    except OSError as error:
        log.warning("confirmation failed (%s); it may have been shown", error)
        return False
    status = getattr(result, "status_code", 200)
    if status < 400:
        return True
    if status >= 500:
        log.warning("confirmation answered %s; it may have been shown", status)
        return False
    return None


def reply_or_dm(job, payload: dict, *, replace_original: bool) -> None:
    """Answer a button on its response_url, else in the app's DM."""
    if job.body.get("response_url"):
        job.reply(**payload, response_type="ephemeral", replace_original=replace_original)
    else:
        job.client.chat_postMessage(channel=job.user_id, **payload)
