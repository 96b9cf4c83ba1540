"""`/account`: reading the text, the card, the book and its lists, the report, cadence,
owner and plan. Other surfaces answer their own verbs (`log`, `snooze`: `handlers.log`;
`away`, `holidays`: `handlers.away`), reached through the `subcommands` they declare."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein
from slack_bolt import App

from bot.messages.book import account_list
from bot.messages.book import book as book_message
from bot.messages.card import status_card
from bot.messages.format import plural
from bot.messages.help import help_message
from bot.messages.kit import cut, escape, notice, user_ref
from bot.messages.log import two_readings as two_readings_message
from bot.messages.pick import pick_list
from bot.messages.report import recency_report
from bot.retention import book as books
from bot.retention import rep_ops
from bot.retention.account_ops import CardLookup, look_up_card, report_with_win_rates
from bot.retention.actions import change_owner, set_cadence
from bot.retention.errors import AmbiguousAccount, InvalidInput
from bot.retention.log_text import ACTING_VERBS, two_readings
from bot.retention.name_hits import is_exact_name
from bot.retention.names import normalize_name
from handlers.common import (
    actor_for,
    current_rep,
    not_found,
    note_tactics_shown,
    open_plan_modal,
    rep_today,
    resolve,
    user_today,
)
from handlers.work import Job, accept, after_ack

log = logging.getLogger(__name__)
COMMAND = "/account"
OWN_VERBS = ("help", "list", "plan", "cadence", "owner", "report")
# The verbs other surfaces answer (see each one's SUBCOMMANDS).
OTHER_VERBS = ("log", "snooze", "away", "holidays")
SUBCOMMANDS = (
    "help",
    "list",
    "log",
    "snooze",
    "plan",
    "cadence",
    "owner",
    "report",
    "away",
    "holidays",
)
BOOK_TOP = 8
# A first word this many edits (Levenshtein) from a sub-command is taken as a typo of it...
NEAR_SUBCOMMAND = 2
# ...unless it looks like a word of the account the whole text fuzzily found (fuzz.ratio).
LIKE_A_NAME_WORD = 75
# How many leading words after an unknown first word are tried as an account name.
NAME_WORDS_TRIED = 4
_DEFAULT_CADENCE = {"default", "tier", "reset"}
_MAILTO = re.compile(r"^<mailto:([^|>]+)(\|[^>]*)?>$")
# `reply(payload, private=False)`: the command's answer, in the channel when shared.
Answer = Callable[..., None]


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


def answer_command(job: Job) -> None:
    """Do what `/account TEXT` asks and reply on the command's response_url."""
    request = parse(job.body.get("text") or "")
    if request.verb in SUBCOMMANDS:
        request = _name_or_verb(job, request)
        if request is None:
            return

    def reply(payload: dict, *, private: bool = False) -> None:
        # `share` posts the answer in the channel; usage, pick lists and problems stay
        # private (errors are answered privately by replying_to_errors).
        shared = request.share and not private
        job.reply(**payload, response_type="in_channel" if shared else "ephemeral")

    if request.verb in OTHER_VERBS:
        job.subcommands[request.verb](job, request.verb, request.args, reply)
    else:
        ANSWERS[request.verb](job, request, reply)


def _name_or_verb(job: Job, request: Request) -> Request | None:
    """Both an account's exact name (or CRM id) and a sub-command that names an account
    ("Log Cabin Supplies"): the rep picks (None: answered). Otherwise the name wins over
    the sub-command word it starts with: "Report Print Co", "Help Desk Supplies"."""
    words = [request.verb, *request.args]
    acting = request.verb in ACTING_VERBS
    today = user_today(job.runtime, job.user_id) if acting else job.runtime.today()
    with job.runtime.db.session() as session:
        readings = two_readings(session=session, words=words, today=today)
        named = readings is None and is_exact_name(session=session, text=" ".join(words))
    if readings is not None:
        payload = two_readings_message(
            " ".join(words),
            name_id=readings.name_id,
            name=readings.name,
            action_id=readings.action_id,
            action_name=readings.action_name,
            pending=readings.pending,
        )
        job.reply(**payload, response_type="ephemeral")
        return None
    return Request("show", words, request.share) if named else request


# --- the card ------------------------------------------------------------------------------


def show_account(job: Job, request: Request, reply: Answer) -> None:
    """`/account WORDS`: the card, or privately a pick list, a did-you-mean or usage.
    Read only: on SQLite a write transaction would hold the one write lock for as long
    as the card takes, and every modal submit would wait behind it."""
    runtime = job.runtime
    with runtime.db.session() as session:  # one read for the rep's zone and the card
        tz = rep_ops.rep_tz(session=session, slack_user_id=job.user_id)
        found = look_up_card(
            session=session,
            words=request.args,
            now=runtime.now(),
            as_of=runtime.today_in(tz),
            tier_cadence=runtime.tier_cadence,
            calendars=runtime.calendars,
            tz=tz,
            name_words_tried=NAME_WORDS_TRIED,
        )
    private = _private_answer(found, request.args, share=request.share)
    if private is not None:
        reply(private, private=True)
        return
    note_tactics_shown(runtime, found.status)
    reply(status_card(found.status))


def _private_answer(found: CardLookup, words: list[str], *, share: bool) -> dict | None:
    """None when the card is the answer; else the pick list, did-you-mean or usage.

    A first word that is not part of the name (a mistyped or unknown sub-command, as in
    `lgo acme call` or `cadence acme 14`) gets usage rather than a fuzzy guess."""
    query, error = found.query, found.error
    if isinstance(error, AmbiguousAccount):
        fallback = pick_list(query, error.candidates, ambiguous=True, total=error.total)
    elif error is not None:
        fallback = not_found(query, error)
    else:
        fallback = None
    if found.final:
        return fallback
    usage = _not_an_account(words, found, share=share)
    return usage if usage is not None else fallback


def _not_an_account(words: list[str], found: CardLookup, *, share: bool) -> dict | None:
    """Usage when the text only fuzzily matches an account because of its first word."""
    first = words[0]
    if _like_a_name_word(first, [name for _, name in found.guessed]):
        return None  # "nordwind traders": a typo in the name, not a command
    meant = _near_subcommand(first)
    if meant is not None:
        suggestion = " ".join([COMMAND, meant, *words[1:], *(["share"] if share else [])])
        return help_message(f"I don't know `{_code(first)}`. Did you mean `{_code(suggestion)}`?")
    if found.rest_names_an_account:
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


def _code(text: str) -> str:
    """User text for inside `backticks`: escaped, and no backtick to end the span early."""
    return escape(cut(text, 200)).replace("`", "'")


# --- the book, lists, report ------------------------------------------------------------------


def _book_of(job: Job, reply: Answer):
    """(rep, their assessed accounts as of their own today), or None after explaining."""
    rep = current_rep(runtime=job.runtime, client=job.client, user_id=job.user_id)
    if rep is None:
        reply(
            notice(
                "I don't know your accounts yet. Ask your sales-ops admin to import accounts with "
                "your e-mail as `owner_email` (then `rebuy reps sync`). Meanwhile, look up any "
                "account with `/account NAME`."
            ),
            private=True,
        )
        return None
    runtime = job.runtime
    with runtime.db.session() as session:
        entries = rep_ops.book_of(
            session=session,
            rep_id=rep.id,
            as_of=rep_today(runtime, rep),
            tier_cadence=runtime.tier_cadence,
            calendars=runtime.calendars,
        )
    return rep, entries


def show_book(job: Job, request: Request, reply: Answer) -> None:
    book = _book_of(job, reply)
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


def show_list(job: Job, request: Request, reply: Answer) -> None:
    which = list_filter(request.args)
    book = _book_of(job, reply)
    if book is not None:
        reply(account_list(which, books.filtered(book[1], which)))


def show_report(job: Job, request: Request, reply: Answer) -> None:
    """The recency report; admins also see the accounts nobody owns."""
    runtime = job.runtime
    with runtime.db.session() as session:
        report, unowned = report_with_win_rates(
            session=session,
            now=runtime.now(),
            with_unowned=job.user_id in runtime.settings.admin_user_ids,
        )
    reply(recency_report(report, unowned=unowned))


def show_help(job: Job, request: Request, reply: Answer) -> None:
    reply(help_message(), private=True)


# --- cadence, owner, plan ---------------------------------------------------------------------


def cadence_from_command(job: Job, request: Request, reply: Answer) -> None:
    """`cadence acme corp 21` (days between touches) or `cadence acme corp default`."""
    args, runtime = request.args, job.runtime
    last = args[-1].lower() if args else ""
    if len(args) < 2 or not (last.isdecimal() or last in _DEFAULT_CADENCE):
        raise InvalidInput(
            "Say the account and the days between touches, e.g. `/account cadence acme 21`, "
            "or `default` for the tier's cadence."
        )
    days = None if last in _DEFAULT_CADENCE else int(last)
    match = resolve(runtime, " ".join(args[:-1]), reply, verb="cadence")
    if match is None:
        return
    with runtime.db.transaction() as session:
        account = set_cadence(
            session=session,
            account_id=match.account_id,
            days=days,
            now=runtime.now(),
            actor=actor_for(runtime, job.user_id),
        )
        name, tier = account.name, account.tier
    if days:
        every = f"a touch every {plural(days, 'day')}"
    else:
        default = runtime.settings.cadence_for_tier(tier)
        every = f"a touch every {plural(default, 'day')}, the default for the {escape(tier)} tier"
    reply(notice(f"🗓️ *{escape(name)}* is now on {every}."))


def owner_from_command(job: Job, request: Request, reply: Answer) -> None:
    """`owner acme corp ben@company.com`: hand the account to another rep."""
    args, runtime = request.args, job.runtime
    email = args[-1] if args else ""
    mailto = _MAILTO.match(email)  # Slack may send an e-mail as <mailto:x@y|x@y>
    email = mailto.group(1) if mailto else email
    if len(args) < 2 or "@" not in email:
        raise InvalidInput(
            "Say the account and the new owner's e-mail, e.g. "
            "`/account owner acme ben@yourcompany.com`."
        )
    match = resolve(runtime, " ".join(args[:-1]), reply, verb="owner")
    if match is None:
        return
    with runtime.db.transaction() as session:
        account, rep = change_owner(
            session=session,
            account_id=match.account_id,
            owner_email=email,
            now=runtime.now(),
            actor=actor_for(runtime, job.user_id),
        )
        name, who = account.name, user_ref(rep.slack_user_id, rep.name or rep.email)
    reply(notice(f"👤 *{escape(name)}* now belongs to {who}."))


def plan_from_command(job: Job, request: Request, reply: Answer) -> None:
    query = " ".join(request.args)
    match = resolve(job.runtime, query, reply, verb="plan", pending={"do": "plan"})
    if match is not None:
        open_plan_modal(
            job.runtime,
            job.client,
            trigger_id=job.body["trigger_id"],
            account_id=match.account_id,
            user_id=job.user_id,
        )


ANSWERS: dict[str, Callable[[Job, Request, Answer], None]] = {
    "": show_book,
    "show": show_account,
    "help": show_help,
    "list": show_list,
    "report": show_report,
    "cadence": cadence_from_command,
    "owner": owner_from_command,
    "plan": plan_from_command,
}


def register(app: App) -> None:
    app.command(COMMAND)(ack=accept, lazy=[after_ack(answer_command)])
