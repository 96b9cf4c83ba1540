"""`/account` and its sub-commands, and the pick-list buttons that finish them."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import sqlalchemy as sa
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein
from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.messages import log as log_blocks
from bot.messages.book import account_list
from bot.messages.book import book as book_message
from bot.messages.card import status_card
from bot.messages.format import plural
from bot.messages.help import help_message
from bot.messages.ids import Action
from bot.messages.kit import cut, escape, notice, user_ref
from bot.messages.pick import pick_list
from bot.messages.report import recency_report as report_message
from bot.retention import book as books
from bot.retention.actions import (
    change_owner,
    set_cadence,
)
from bot.retention.errors import AccountNotFound, AmbiguousAccount, InvalidInput
from bot.retention.lookup import find_account_match
from bot.retention.names import normalize_name
from bot.retention.report import recency_report
from bot.retention.status import account_status
from bot.retention.tactic_stats import tactic_win_rates
from bot.retention.unowned import unowned_accounts
from bot.retention.when import check_touch_day
from bot.runtime import Runtime
from handlers import away
from handlers.common import (
    Reply,
    Work,
    actor_for,
    current_rep,
    note_tactics_shown,
    rep_today,
    snooze_and_confirm,
    user_today,
    user_tz,
)
from handlers.interactions import any_of, open_plan_modal
from handlers.log_command import (
    GONE,
    log_and_confirm,
    log_from_command,
    snooze_from_command,
    two_readings,
)
from handlers.lookup_reply import not_found, resolve_match
from handlers.payloads import pick_value
from models import Account

log = logging.getLogger(__name__)
COMMAND = "/account"
SUBCOMMANDS = ("help", "list", "log", "snooze", "plan", "cadence", "owner", "report", *away.VERBS)
BOOK_TOP = 8
# A first word this many edits (Levenshtein) from a sub-command is taken as a typo of it...
NEAR_SUBCOMMAND = 2
# ...unless it looks like a word of the account the whole text fuzzily found (fuzz.ratio).
LIKE_A_NAME_WORD = 75
# How many leading words after an unknown first word are tried as an account name.
NAME_WORDS_TRIED = 4


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


def register(app: App, runtime: Runtime, work: Work) -> None:
    def accept(ack: Ack, body: dict, context: BoltContext) -> None:
        """In the request thread: no database, no Slack call, nothing to wait behind."""
        work.accept(context, body)
        ack()

    def answer_command(body: dict, data: dict, reply: Reply, client: WebClient) -> None:
        answer(runtime, client, body, reply)

    def finish_pick_work(body: dict, data: dict, reply: Reply, client: WebClient) -> None:
        finish_pick(runtime, client, body, reply)

    app.command(COMMAND)(ack=accept, lazy=[work.lazy(answer_command)])
    app.action(any_of(Action.PICK_ACCOUNT))(ack=accept, lazy=[work.lazy(finish_pick_work)])


def answer(runtime: Runtime, client: WebClient, command: dict, respond: Reply) -> None:
    """Do what `/account TEXT` asks and reply on the command's response_url."""
    request = parse(command.get("text") or "")
    user_id = command["user_id"]
    if request.verb in SUBCOMMANDS:
        words = [request.verb, *request.args]
        # Both an account's exact name (or CRM id) and a sub-command that names an
        # account ("Log Cabin Supplies"): the rep picks. Otherwise the name wins over
        # the sub-command word it starts with: "Report Print Co", "Help Desk Supplies".
        readings = two_readings(runtime, words, user_id)
        if readings is not None:
            respond(**readings, response_type="ephemeral")
            return
        with runtime.db.session() as session:
            if _exact_name(session, " ".join(words)):
                request = Request("show", words, request.share)

    def reply(payload: dict, *, private: bool = False) -> None:
        # `share` posts the answer in the channel; usage, pick lists and problems stay
        # private (errors are answered privately by replying_to_errors).
        shared = request.share and not private
        respond(**payload, response_type="in_channel" if shared else "ephemeral")

    if request.verb == "help":
        reply(help_message(), private=True)
    elif request.verb == "":
        show_book(runtime, client, user_id, reply)
    elif request.verb == "show":
        show_account(runtime, request, user_id, reply)
    elif request.verb == "list":
        show_list(runtime, client, user_id, request.args, reply)
    elif request.verb == "report":
        show_report(runtime, reply, is_admin=user_id in runtime.settings.admin_user_ids)
    elif request.verb == "log":
        log_from_command(runtime, request.args, user_id, reply)
    elif request.verb == "snooze":
        snooze_from_command(runtime, request.args, user_id, reply)
    elif request.verb == "plan":
        plan_from_command(runtime, client, request.args, user_id, command, reply)
    elif request.verb == "cadence":
        cadence_from_command(runtime, request.args, user_id, reply)
    elif request.verb == "owner":
        owner_from_command(runtime, request.args, user_id, reply)
    elif request.verb in away.VERBS:
        away.answer(runtime, client, request.verb, request.args, user_id, reply)


# --- finding the account ----------------------------------------------------------------


def _resolve(session, query: str, reply, *, verb: str, pending: dict | None = None) -> int | None:
    """The account id, or None after privately replying with a pick list / did-you-mean."""
    match = resolve_match(session, query, reply, verb=verb, pending=pending)
    return match.account_id if match is not None else None


_not_found = not_found


def _card_lookup(session, words: list[str], *, share: bool) -> tuple[int | None, dict | None]:
    """`/account WORDS`: (the account to show, None) or (None, the private answer).

    A first word that is not part of the name (a mistyped or unknown sub-command, as in
    `lgo acme call` or `cadence acme 14`) gets usage rather than a fuzzy guess.
    """
    query = " ".join(words)
    try:
        match = find_account_match(session=session, query=query)
    except AmbiguousAccount as error:
        pick = pick_list(query, error.candidates, ambiguous=True, total=error.total)
        if _exact_hit(session, query):  # several accounts really have that name
            return None, pick
        guessed, fallback = error.candidates, (None, pick)
    except AccountNotFound as error:
        if error.empty:
            return None, _not_found(query, error)
        guessed, fallback = error.candidates, (None, _not_found(query, error))
    else:
        if match.exact:
            return match.account_id, None
        account = session.get(Account, match.account_id)
        guessed, fallback = [(match.account_id, account.name)], (match.account_id, None)
    usage = _not_an_account(session, words, guessed, share=share)
    return (None, usage) if usage is not None else fallback


def _not_an_account(
    session, words: list[str], guessed: list[tuple[int, str]], *, share: bool
) -> dict | None:
    """Usage when the text only fuzzily matches an account because of its first word."""
    first = words[0]
    if _like_a_name_word(first, [name for _, name in guessed]):
        return None  # "nordwind traders": a typo in the name, not a command
    meant = _near_subcommand(first)
    if meant is not None:
        suggestion = " ".join([COMMAND, meant, *words[1:], *(["share"] if share else [])])
        return help_message(f"I don't know `{_code(first)}`. Did you mean `{_code(suggestion)}`?")
    if len(words) > 1 and _starts_with_an_account(session, words[1:]):
        return help_message(f"I don't know `{_code(first)}`. Here's what I can do:")
    return None


def _near_subcommand(word: str) -> str | None:
    """`lgo` -> "log", `snoze` -> "snooze": the closest sub-command within 2 edits."""
    word = word.lower()
    best = min(SUBCOMMANDS, key=lambda sub: Levenshtein.distance(word, sub))
    return best if Levenshtein.distance(word, best) <= NEAR_SUBCOMMAND else None


def _like_a_name_word(word: str, names: list[str]) -> bool:
    key = normalize_name(word)
    return bool(key) and any(
        fuzz.ratio(key, part) >= LIKE_A_NAME_WORD
        for name in names
        for part in normalize_name(name).split()
    )


def _starts_with_an_account(session, words: list[str]) -> bool:
    """Do the first few of `words` name an account exactly (`acme` in `acme 14`)?"""
    return any(
        _exact_hit(session, " ".join(words[:count]))
        for count in range(min(len(words), NAME_WORDS_TRIED), 0, -1)
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _exact_hit(session, query: str) -> bool:
    """Would the lookup find `query` without guessing: a CRM id, the name, the start of
    a name or of a word in it (the non-fuzzy steps of `find_account_match`)?"""
    query = query.strip()
    key = normalize_name(query)
    if not key:
        return False
    like = _escape_like(key)
    conditions = [
        Account.external_id == query,
        Account.name_key == key,
        Account.name_key.like(f"{like} %", escape="\\"),
    ]
    if len(key) >= 3:
        conditions.append(Account.name_key.like(f"% {like}%", escape="\\"))
    if " " not in query:
        conditions.append(sa.func.lower(Account.external_id) == query.lower())
    statement = sa.select(Account.id).where(sa.or_(*conditions)).limit(1)
    return session.execute(statement).first() is not None


def _exact_name(session, text: str) -> bool:
    """Is `text` exactly an account's name (normalised) or CRM id?"""
    key = normalize_name(text)
    if not key:
        return False
    statement = (
        sa.select(Account.id)
        .where(sa.or_(Account.name_key == key, Account.external_id == text.strip()))
        .limit(1)
    )
    return session.execute(statement).first() is not None


def _code(text: str) -> str:
    """User text for inside `backticks`: escaped, and no backtick to end the span early."""
    return escape(cut(text, 200)).replace("`", "'")


# --- read-only answers ------------------------------------------------------------------
# These only read: on SQLite a write transaction (BEGIN IMMEDIATE) would hold the one
# write lock for as long as they take, and every modal submit would wait behind it.


def show_account(runtime: Runtime, request: Request, user_id: str, reply) -> None:
    tz = user_tz(runtime, user_id)
    today = runtime.today_in(tz)
    with runtime.db.session() as session:
        account_id, private = _card_lookup(session, request.args, share=request.share)
        if account_id is None:
            reply(private, private=True)
            return
        status = account_status(
            session=session,
            account_id=account_id,
            now=runtime.now(),
            as_of=today,
            tier_cadence=runtime.tier_cadence,
            calendars=runtime.calendars,
            record_tactics=None,
            tz=tz,
        )
    note_tactics_shown(runtime, status)
    reply(status_card(status))


def _rep_or_explain(runtime, client, user_id, reply):
    rep = current_rep(runtime=runtime, client=client, user_id=user_id)
    if rep is None:
        reply(
            notice(
                "I don't know your accounts yet. Ask your sales-ops admin to import accounts with "
                "your e-mail as `owner_email` (then `rebuy reps sync`). Meanwhile, look up any "
                "account with `/account NAME`."
            ),
            private=True,
        )
    return rep


def _book_of(runtime: Runtime, client: WebClient, user_id: str, reply):
    """(rep, their assessed accounts as of their own today), or None after explaining."""
    rep = _rep_or_explain(runtime, client, user_id, reply)
    if rep is None:
        return None
    with runtime.db.session() as session:
        entries = books.book_entries(
            session=session,
            owner_id=rep.id,
            as_of=rep_today(runtime, rep),
            tier_cadence=runtime.tier_cadence,
            calendars=runtime.calendars,
        )
    return rep, entries


def show_book(runtime: Runtime, client: WebClient, user_id: str, reply) -> None:
    book = _book_of(runtime, client, user_id, reply)
    if book is None:
        return
    rep, entries = book
    summary = books.summarize(entries)
    top = books.filtered(entries, "due")[:BOOK_TOP]
    reply(book_message(summary, top, rep_label=rep.name or rep.email))


def list_filter(args: list[str]) -> str:
    """`list at risk` / `list single threaded` / `list at-risk` -> the filter's name."""
    if not args:
        return books.normalize_filter(None)
    try:
        return books.normalize_filter("-".join(word.lower() for word in args))
    except InvalidInput:
        return books.normalize_filter(" ".join(args))  # explains, quoting what was typed


def show_list(runtime: Runtime, client: WebClient, user_id: str, args: list[str], reply) -> None:
    which = list_filter(args)
    book = _book_of(runtime, client, user_id, reply)
    if book is not None:
        reply(account_list(which, books.filtered(book[1], which)))


def show_report(runtime: Runtime, reply, *, is_admin: bool = False) -> None:
    """The recency report; admins also see the accounts nobody owns."""
    with runtime.db.session() as session:
        report = recency_report(session=session, now=runtime.now())
        report.extra["tactic_win_rates"] = tactic_win_rates(session=session, now=runtime.now())
        unowned = unowned_accounts(session=session) if is_admin else None
    reply(report_message(report, unowned=unowned))


# --- log, snooze, plan --------------------------------------------------------------------


_DEFAULT_CADENCE = {"default", "tier", "reset"}
_MAILTO = re.compile(r"^<mailto:([^|>]+)(\|[^>]*)?>$")


def cadence_from_command(runtime: Runtime, args: list[str], user_id: str, reply) -> None:
    """`cadence acme corp 21` (days between touches) or `cadence acme corp default`."""
    last = args[-1].lower() if args else ""
    if len(args) < 2 or not (last.isdigit() or last in _DEFAULT_CADENCE):
        raise InvalidInput(
            "Say the account and the days between touches, e.g. `/account cadence acme 21`, "
            "or `default` for the tier's cadence."
        )
    days = None if last in _DEFAULT_CADENCE else int(last)
    with runtime.db.session() as session:
        account_id = _resolve(session, " ".join(args[:-1]), reply, verb="cadence")
    if account_id is None:
        return
    with runtime.db.transaction() as session:
        account = set_cadence(
            session=session,
            account_id=account_id,
            days=days,
            now=runtime.now(),
            actor=actor_for(runtime, user_id),
        )
        name, tier = account.name, account.tier
    if days:
        every = f"a touch every {plural(days, 'day')}"
    else:
        default = runtime.settings.cadence_for_tier(tier)
        every = f"a touch every {plural(default, 'day')}, the default for the {escape(tier)} tier"
    reply(notice(f"🗓️ *{escape(name)}* is now on {every}."))


def owner_from_command(runtime: Runtime, args: list[str], user_id: str, reply) -> None:
    """`owner acme corp ben@company.com`: hand the account to another rep."""
    email = args[-1] if args else ""
    mailto = _MAILTO.match(email)  # Slack may send an e-mail as <mailto:x@y|x@y>
    email = mailto.group(1) if mailto else email
    if len(args) < 2 or "@" not in email:
        raise InvalidInput(
            "Say the account and the new owner's e-mail, e.g. "
            "`/account owner acme ben@yourcompany.com`."
        )
    with runtime.db.session() as session:
        account_id = _resolve(session, " ".join(args[:-1]), reply, verb="owner")
    if account_id is None:
        return
    with runtime.db.transaction() as session:
        account, rep = change_owner(
            session=session,
            account_id=account_id,
            owner_email=email,
            now=runtime.now(),
            actor=actor_for(runtime, user_id),
        )
        name, who = account.name, user_ref(rep.slack_user_id, rep.name or rep.email)
    reply(notice(f"👤 *{escape(name)}* now belongs to {who}."))


def plan_from_command(
    runtime: Runtime, client: WebClient, args: list[str], user_id: str, command: dict, reply
) -> None:
    with runtime.db.session() as session:
        account_id = _resolve(session, " ".join(args), reply, verb="plan", pending={"do": "plan"})
    if account_id is not None:
        open_plan_modal(
            runtime,
            client,
            trigger_id=command["trigger_id"],
            account_id=account_id,
            user_id=user_id,
        )


# --- a pick-list button that carries the action -------------------------------------------


def finish_pick(runtime: Runtime, client: WebClient, body: dict, respond: Reply) -> None:
    """The rep chose an account from a `log` / `snooze` / `plan` pick list: do what they
    asked, and replace the pick list with the confirmation."""
    pending = pick_value(body)  # checked: a tampered value gets a clear message
    user_id = body["user"]["id"]
    account_id = pending.id
    with runtime.db.session() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise InvalidInput(GONE)
        name = account.name
    if pending.do == "log":
        payload = _log_picked(runtime, pending, name=name, user_id=user_id)
        if body.get("response_url"):
            respond(**payload, response_type="ephemeral", replace_original=True)
        else:
            client.chat_postMessage(channel=user_id, **payload)
        return
    if pending.do == "snooze":
        until = pending.snooze_until(today=user_today(runtime, user_id))
        text = snooze_and_confirm(
            runtime, account_id, until=until, reason=pending.reason, user_id=user_id
        )
    else:
        open_plan_modal(
            runtime, client, trigger_id=body["trigger_id"], account_id=account_id, user_id=user_id
        )
        text = f"📋 Opening the plan for *{escape(name)}*."
    payload = notice(text)
    if body.get("response_url"):
        respond(**payload, response_type="ephemeral", replace_original=True)
    else:
        client.chat_postMessage(channel=user_id, **payload)


def _log_picked(runtime: Runtime, pending, *, name: str, user_id: str) -> dict:
    """A `log` pick: log it, or ask the kind when the command did not say."""
    today = user_today(runtime, user_id)
    if pending.on is not None:
        check_touch_day(pending.on, today=today)
    if pending.kind is None:
        return log_blocks.kind_question(
            account_id=pending.id, name=name, on=pending.on, today=today, note=pending.note,
            query=None,
        )  # fmt: skip
    payload = log_and_confirm(
        runtime, pending.id, kind=pending.kind, on=pending.on, note=pending.note,
        user_id=user_id, today=today, query=None, key=None,
    )  # fmt: skip
    if pending.cut:
        payload = notice(payload["text"] + " (The note was shortened to fit.)")
    return payload
