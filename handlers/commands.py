"""`/account` and its sub-commands."""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.retention import book as books
from bot.retention.actions import log_touch, parse_snooze, parse_touch_kind, snooze_account
from bot.retention.errors import AccountNotFound, AmbiguousAccount, InvalidInput
from bot.retention.lookup import find_account_id
from bot.retention.report import recency_report
from bot.retention.signals import day_label
from bot.retention.status import account_status
from bot.retention.tactic_stats import tactic_win_rates
from bot.runtime import Runtime
from handlers import blocks
from handlers.common import actor_for, current_rep
from handlers.errors import replying_to_errors
from handlers.interactions import open_plan_modal
from models import TOUCH_KINDS, Account

log = logging.getLogger(__name__)
COMMAND = "/account"
SUBCOMMANDS = ("help", "list", "log", "snooze", "plan", "report")
BOOK_TOP = 8


@dataclass(frozen=True)
class Request:
    verb: str  # "" (own book), "show", or one of SUBCOMMANDS
    args: list[str]
    share: bool


def parse(text: str) -> Request:
    """`/account` text -> what the rep asked for. A trailing `share` posts in the channel."""
    words = text.split()
    share = bool(words) and words[-1].lower() == "share"
    if share:
        words = words[:-1]
    if not words:
        return Request("", [], share)
    head = words[0].lower()
    if head in SUBCOMMANDS:
        return Request(head, words[1:], share)
    if head in ("?", "-h", "--help", "usage"):
        return Request("help", [], share)
    return Request("show", words, share)


_KIND_WORDS = set(TOUCH_KINDS) | {
    "phone",
    "called",
    "mail",
    "e-mail",
    "emailed",
    "meet",
    "met",
    "visited",
    "lunch",
}
_DURATION = re.compile(r"^(\d{1,3}\s*(d|w|m|wk|mo)|\d{4}-\d{2}-\d{2})$", re.IGNORECASE)


def split_log_args(args: list[str]) -> tuple[str, str, str | None]:
    """`log acme corp call talked renewal` -> ("acme corp", "call", "talked renewal")."""
    for i, word in enumerate(args[1:], start=1):
        if word.lower() in _KIND_WORDS:
            return " ".join(args[:i]), word, " ".join(args[i + 1 :]) or None
    return " ".join(args), "note", None


def split_snooze_args(args: list[str]) -> tuple[str, str, str | None]:
    """`snooze acme corp 2w buyer on leave` -> ("acme corp", "2w", "buyer on leave")."""
    for i, word in enumerate(args[1:], start=1):
        if _DURATION.match(word):
            return " ".join(args[:i]), word, " ".join(args[i + 1 :]) or None
    raise InvalidInput(
        "Say for how long, e.g. `/account snooze acme 2w` (1w, 2w, 10d, 1m or a date)."
    )


def register(app: App, runtime: Runtime) -> None:
    @app.command(COMMAND)
    def account_command(ack: Ack, command: dict, respond: Respond, client: WebClient) -> None:
        ack()  # first, always: Slack wants an answer within 3 seconds
        with replying_to_errors(command, respond, client):
            answer(runtime, client, command, respond)


def answer(runtime: Runtime, client: WebClient, command: dict, respond: Respond) -> None:
    """Do what `/account TEXT` asks and reply on the command's response_url."""
    request = parse(command.get("text") or "")
    user_id = command["user_id"]

    def reply(payload: dict, *, private: bool = False) -> None:
        # `share` posts the answer in the channel; pick lists and problems stay private.
        shared = request.share and not private
        respond(**payload, response_type="in_channel" if shared else "ephemeral")

    if request.verb == "help":
        reply(blocks.help_message())
    elif request.verb == "":
        show_book(runtime, client, user_id, reply)
    elif request.verb == "show":
        show_account(runtime, request.args, reply)
    elif request.verb == "list":
        show_list(runtime, client, user_id, request.args, reply)
    elif request.verb == "report":
        show_report(runtime, reply)
    elif request.verb == "log":
        log_from_command(runtime, request.args, user_id, reply)
    elif request.verb == "snooze":
        snooze_from_command(runtime, request.args, user_id, reply)
    elif request.verb == "plan":
        plan_from_command(runtime, client, request.args, user_id, command, reply)


def _resolve(session, query: str, reply, *, verb: str = "log", typed: list[str] = ()) -> int | None:
    """The account id, or None after privately replying with a pick list / did-you-mean.

    `typed` is the whole command when it was read as an account name, so that a mistyped
    sub-command ("lst overdue") can be pointed at the right one.
    """
    if not query.strip():
        example = {"log": "log acme call", "snooze": "snooze acme 2w", "plan": "plan acme"}
        reply(
            blocks.help_message(
                f"Which account? Add its name, e.g. `/account {example.get(verb, 'acme')}`."
            ),
            private=True,
        )
        return None
    try:
        return find_account_id(session=session, query=query)
    except AmbiguousAccount as error:
        reply(blocks.pick_list(query, error.candidates, ambiguous=True), private=True)
    except AccountNotFound as error:
        if error.empty:
            reply(blocks.notice(blocks.escape(error.message)), private=True)
            return None
        payload = blocks.pick_list(query, error.candidates, ambiguous=False)
        if not error.candidates:
            intro = payload["text"]
            meant = _meant_subcommand(typed)
            if meant:
                intro = (
                    f"I don't know an account called “{blocks.escape(query)}”. "
                    f"Did you mean `{meant}`?"
                )
            payload = blocks.help_message(intro)
        reply(payload, private=True)
    return None


def _meant_subcommand(words: list[str]) -> str | None:
    """`["lst", "overdue"]` -> "/account list overdue" when the first word is a near miss."""
    if not words:
        return None
    close = difflib.get_close_matches(words[0].lower(), SUBCOMMANDS, n=1, cutoff=0.6)
    if not close:
        return None
    return " ".join([COMMAND, close[0], *(blocks.escape(w) for w in words[1:])])


def show_account(runtime: Runtime, words: list[str], reply) -> None:
    with runtime.db.transaction() as session:
        account_id = _resolve(session, " ".join(words), reply, verb="show", typed=words)
        if account_id is None:
            return
        status = account_status(
            session=session,
            account_id=account_id,
            now=runtime.now(),
            tier_cadence=runtime.tier_cadence,
            record_tactics="card",
        )
    reply(blocks.status_card(status))


def _rep_or_explain(runtime, client, user_id, reply):
    rep = current_rep(runtime=runtime, client=client, user_id=user_id)
    if rep is None:
        reply(
            blocks.notice(
                "I don't know your accounts yet. Ask your sales-ops admin to import accounts with "
                "your e-mail as `owner_email` (then `rebuy reps sync`). Meanwhile, look up any "
                "account with `/account NAME`."
            )
        )
    return rep


def show_book(runtime: Runtime, client: WebClient, user_id: str, reply) -> None:
    rep = _rep_or_explain(runtime, client, user_id, reply)
    if rep is None:
        return
    with runtime.db.session() as session:
        entries = books.book_entries(
            session=session,
            owner_id=rep.id,
            as_of=runtime.today(),
            tier_cadence=runtime.tier_cadence,
        )
    summary = books.summarize(entries)
    top = books.filtered(entries, "due")[:BOOK_TOP]
    reply(blocks.book(summary, top, rep_label=rep.name or rep.email))


def show_list(runtime: Runtime, client: WebClient, user_id: str, args: list[str], reply) -> None:
    which = books.normalize_filter(args[0] if args else None)
    rep = _rep_or_explain(runtime, client, user_id, reply)
    if rep is None:
        return
    with runtime.db.session() as session:
        entries = books.book_entries(
            session=session,
            owner_id=rep.id,
            as_of=runtime.today(),
            tier_cadence=runtime.tier_cadence,
        )
    reply(blocks.account_list(which, books.filtered(entries, which)))


def show_report(runtime: Runtime, reply) -> None:
    with runtime.db.transaction() as session:
        report = recency_report(session=session, now=runtime.now())
        report.extra["tactic_win_rates"] = tactic_win_rates(session=session, now=runtime.now())
    reply(blocks.recency_report(report))


def log_from_command(runtime: Runtime, args: list[str], user_id: str, reply) -> None:
    query, kind_word, note = split_log_args(args)
    kind = parse_touch_kind(kind_word)
    with runtime.db.transaction() as session:
        account_id = _resolve(session, query, reply, verb="log")
        if account_id is None:
            return
        log_touch(
            session=session,
            account_id=account_id,
            kind=kind,
            now=runtime.now(),
            actor=actor_for(runtime, user_id),
            source="command",
            note=note,
        )
        name = session.get(Account, account_id).name
    reply(
        blocks.notice(
            f"{blocks.KIND_EMOJI[kind]} Logged a {kind} on *{blocks.escape(name)}*. "
            "The cadence restarts today."
        )
    )


def snooze_from_command(runtime: Runtime, args: list[str], user_id: str, reply) -> None:
    query, length, reason = split_snooze_args(args)
    until = parse_snooze(length, today=runtime.today())
    with runtime.db.transaction() as session:
        account_id = _resolve(session, query, reply, verb="snooze")
        if account_id is None:
            return
        snooze_account(
            session=session,
            account_id=account_id,
            until=until,
            now=runtime.now(),
            actor=actor_for(runtime, user_id),
            reason=reason,
        )
        name = session.get(Account, account_id).name
    reply(blocks.notice(f"💤 *{blocks.escape(name)}* snoozed until {day_label(until)}."))


def plan_from_command(
    runtime: Runtime, client: WebClient, args: list[str], user_id: str, command: dict, reply
) -> None:
    with runtime.db.session() as session:
        account_id = _resolve(session, " ".join(args), reply, verb="plan")
    if account_id is not None:
        open_plan_modal(
            runtime,
            client,
            trigger_id=command["trigger_id"],
            account_id=account_id,
            user_id=user_id,
        )
