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

from bot.retention import book as books
from bot.retention.actions import (
    NOTE_MAX,
    REASON_MAX,
    change_owner,
    log_touch,
    parse_snooze,
    parse_touch_kind,
    set_cadence,
)
from bot.retention.errors import AccountNotFound, AmbiguousAccount, InvalidInput
from bot.retention.lookup import find_account_match
from bot.retention.names import normalize_name
from bot.retention.report import recency_report
from bot.retention.status import account_status
from bot.retention.tactic_stats import tactic_win_rates
from bot.retention.unowned import unowned_accounts
from bot.runtime import Runtime
from handlers import away, blocks
from handlers.common import (
    Reply,
    Work,
    actor_for,
    current_rep,
    note_tactics_shown,
    rep_today,
    snooze_and_confirm,
    user_today,
)
from handlers.interactions import any_of, open_plan_modal
from handlers.payloads import pick_value
from models import TOUCH_KINDS, Account

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
# The units `parse_snooze` understands, as one token ("2w", "10days") or two ("3 weeks").
_UNITS = r"d|day|days|w|wk|week|weeks|m|mo|month|months"
_DURATION = re.compile(rf"^(\d{{1,3}}\s*({_UNITS})|\d{{4}}-\d{{2}}-\d{{2}})$", re.IGNORECASE)
_AMOUNT = re.compile(r"^\d{1,3}$")
_UNIT = re.compile(rf"^({_UNITS})$", re.IGNORECASE)


def split_log_args(args: list[str]) -> tuple[str, str, str | None]:
    """`log acme corp call talked renewal` -> ("acme corp", "call", "talked renewal")."""
    for i, word in enumerate(args[1:], start=1):
        if word.lower() in _KIND_WORDS:
            return " ".join(args[:i]), word, " ".join(args[i + 1 :]) or None
    return " ".join(args), "note", None


def split_snooze_args(args: list[str]) -> tuple[str, str, str | None]:
    """`snooze acme corp 2w buyer on leave` -> ("acme corp", "2w", "buyer on leave");
    `snooze acme 3 weeks` -> ("acme", "3 weeks", None)."""
    for i, word in enumerate(args[1:], start=1):
        if _DURATION.match(word):
            return " ".join(args[:i]), word, " ".join(args[i + 1 :]) or None
        if _AMOUNT.match(word) and i + 1 < len(args) and _UNIT.match(args[i + 1]):
            length = f"{word} {args[i + 1]}"
            return " ".join(args[:i]), length, " ".join(args[i + 2 :]) or None
    raise InvalidInput(
        "Say for how long, e.g. `/account snooze acme 2w` (1w, 2w, 10d, 1m, 3 weeks or a date)."
    )


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
    app.action(any_of(blocks.PICK_ACCOUNT))(ack=accept, lazy=[work.lazy(finish_pick_work)])


def answer(runtime: Runtime, client: WebClient, command: dict, respond: Reply) -> None:
    """Do what `/account TEXT` asks and reply on the command's response_url."""
    request = parse(command.get("text") or "")
    user_id = command["user_id"]
    if request.verb in SUBCOMMANDS:
        # An account's exact name (or CRM id) wins over a sub-command word it starts
        # with: "Report Print Co", "Help Desk Supplies", "Plan B Logistics".
        words = [request.verb, *request.args]
        with runtime.db.session() as session:
            if _exact_name(session, " ".join(words)):
                request = Request("show", words, request.share)

    def reply(payload: dict, *, private: bool = False) -> None:
        # `share` posts the answer in the channel; usage, pick lists and problems stay
        # private (errors are answered privately by replying_to_errors).
        shared = request.share and not private
        respond(**payload, response_type="in_channel" if shared else "ephemeral")

    if request.verb == "help":
        reply(blocks.help_message(), private=True)
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
    """The account id, or None after privately replying with a pick list / did-you-mean.

    With `pending` (what the rep asked to do) the pick-list buttons carry it, so that
    choosing an account finishes the job instead of only showing the card.
    """
    if not query.strip():
        example = {
            "log": "log acme call",
            "snooze": "snooze acme 2w",
            "plan": "plan acme",
            "cadence": "cadence acme 21",
            "owner": "owner acme ben@yourcompany.com",
        }
        reply(
            blocks.help_message(
                f"Which account? Add its name, e.g. `/account {example.get(verb, 'acme')}`."
            ),
            private=True,
        )
        return None
    try:
        return find_account_match(session=session, query=query).account_id
    except AmbiguousAccount as error:
        reply(
            blocks.pick_list(
                query, error.candidates, ambiguous=True, total=error.total, pending=pending
            ),
            private=True,
        )
    except AccountNotFound as error:
        reply(_not_found(query, error, pending=pending), private=True)
    return None


def _not_found(query: str, error: AccountNotFound, *, pending: dict | None = None) -> dict:
    if error.empty:
        return blocks.notice(blocks.escape(error.message))
    payload = blocks.pick_list(query, error.candidates, ambiguous=False, pending=pending)
    return payload if error.candidates else blocks.help_message(payload["text"])


def _card_lookup(session, words: list[str], *, share: bool) -> tuple[int | None, dict | None]:
    """`/account WORDS`: (the account to show, None) or (None, the private answer).

    A first word that is not part of the name (a mistyped or unknown sub-command, as in
    `lgo acme call` or `cadence acme 14`) gets usage rather than a fuzzy guess.
    """
    query = " ".join(words)
    try:
        match = find_account_match(session=session, query=query)
    except AmbiguousAccount as error:
        pick = blocks.pick_list(query, error.candidates, ambiguous=True, total=error.total)
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
        return blocks.help_message(
            f"I don't know `{_code(first)}`. Did you mean `{_code(suggestion)}`?"
        )
    if len(words) > 1 and _starts_with_an_account(session, words[1:]):
        return blocks.help_message(f"I don't know `{_code(first)}`. Here's what I can do:")
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
    return blocks.escape(blocks.cut(text, 200)).replace("`", "'")


# --- read-only answers ------------------------------------------------------------------
# These only read: on SQLite a write transaction (BEGIN IMMEDIATE) would hold the one
# write lock for as long as they take, and every modal submit would wait behind it.


def show_account(runtime: Runtime, request: Request, user_id: str, reply) -> None:
    today = user_today(runtime, user_id)
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
        )
    note_tactics_shown(runtime, status)
    reply(blocks.status_card(status))


def _rep_or_explain(runtime, client, user_id, reply):
    rep = current_rep(runtime=runtime, client=client, user_id=user_id)
    if rep is None:
        reply(
            blocks.notice(
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
    reply(blocks.book(summary, top, rep_label=rep.name or rep.email))


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
        reply(blocks.account_list(which, books.filtered(book[1], which)))


def show_report(runtime: Runtime, reply, *, is_admin: bool = False) -> None:
    """The recency report; admins also see the accounts nobody owns."""
    with runtime.db.session() as session:
        report = recency_report(session=session, now=runtime.now())
        report.extra["tactic_win_rates"] = tactic_win_rates(session=session, now=runtime.now())
        unowned = unowned_accounts(session=session) if is_admin else None
    reply(blocks.recency_report(report, unowned=unowned))


# --- log, snooze, plan --------------------------------------------------------------------


def _check_length(text: str | None, limit: int, what: str) -> None:
    text = (text or "").strip()
    if len(text) > limit:
        raise InvalidInput(f"The {what} is {len(text):,} characters; keep it under {limit:,}.")


def log_from_command(runtime: Runtime, args: list[str], user_id: str, reply) -> None:
    query, kind_word, note = split_log_args(args)
    kind = parse_touch_kind(kind_word)
    _check_length(note, NOTE_MAX, "note")
    pending = {"do": "log", "kind": kind, "note": note}
    with runtime.db.session() as session:
        account_id = _resolve(session, query, reply, verb="log", pending=pending)
    if account_id is not None:
        reply(blocks.notice(_log(runtime, account_id, kind=kind, note=note, user_id=user_id)))


def _log(runtime: Runtime, account_id: int, *, kind: str, note: str | None, user_id: str) -> str:
    """Log the touch in a short write; the confirmation line."""
    with runtime.db.transaction() as session:
        touch = log_touch(
            session=session,
            account_id=account_id,
            kind=kind,
            now=runtime.now(),
            actor=actor_for(runtime, user_id),
            source="command",
            note=note,
        )
        name = session.get(Account, account_id).name
    return (
        f"{blocks.KIND_EMOJI.get(touch.kind, '✅')} Logged {blocks.with_article(touch.kind)} on "
        f"*{blocks.escape(name)}*. The cadence restarts today."
    )


def snooze_from_command(runtime: Runtime, args: list[str], user_id: str, reply) -> None:
    query, length, reason = split_snooze_args(args)
    until = parse_snooze(length, today=user_today(runtime, user_id))
    _check_length(reason, REASON_MAX, "reason")
    pending = {"do": "snooze", "until": until.isoformat(), "reason": reason}
    with runtime.db.session() as session:
        account_id = _resolve(session, query, reply, verb="snooze", pending=pending)
    if account_id is not None:
        text = snooze_and_confirm(runtime, account_id, until=until, reason=reason, user_id=user_id)
        reply(blocks.notice(text))


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
        every = f"a touch every {blocks.plural(days, 'day')}"
    else:
        default = runtime.settings.cadence_for_tier(tier)
        every = (
            f"a touch every {blocks.plural(default, 'day')}, "
            f"the default for the {blocks.escape(tier)} tier"
        )
    reply(blocks.notice(f"🗓️ *{blocks.escape(name)}* is now on {every}."))


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
        name, who = account.name, blocks.user_ref(rep.slack_user_id, rep.name or rep.email)
    reply(blocks.notice(f"👤 *{blocks.escape(name)}* now belongs to {who}."))


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

GONE = (
    "That account no longer exists (it may have been merged or removed in the CRM). "
    "Look it up again with `/account NAME`."
)


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
        text = _log(
            runtime, account_id, kind=pending.kind or "note", note=pending.note, user_id=user_id
        )
        if pending.cut:
            text += " (The note was shortened to fit.)"
    elif pending.do == "snooze":
        until = pending.snooze_until(today=user_today(runtime, user_id))
        text = snooze_and_confirm(
            runtime, account_id, until=until, reason=pending.reason, user_id=user_id
        )
    else:
        open_plan_modal(
            runtime, client, trigger_id=body["trigger_id"], account_id=account_id, user_id=user_id
        )
        text = f"📋 Opening the plan for *{blocks.escape(name)}*."
    payload = blocks.notice(text)
    if body.get("response_url"):
        respond(**payload, response_type="ephemeral", replace_original=True)
    else:
        client.chat_postMessage(channel=user_id, **payload)
