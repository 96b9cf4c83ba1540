"""`/account log` and `/account snooze`: reading the text, asking for a missing kind,
Undo after a guessed name, and the other reading of a text that is also a name."""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.messages import log as log_blocks
from bot.messages.format import with_article
from bot.messages.ids import Action
from bot.messages.kit import escape, notice
from bot.retention.actions import NOTE_MAX, REASON_MAX, log_touch, parse_snooze, snooze_account
from bot.retention.dates import day_label
from bot.retention.errors import AccountNotFound, AmbiguousAccount, InvalidInput
from bot.retention.lookup import find_account_match
from bot.retention.names import normalize_name
from bot.retention.touch_kinds import touch_kind
from bot.retention.undo import take_back
from bot.retention.when import check_touch_day, read_when, starts_a_when
from bot.runtime import Runtime
from handlers.common import Reply, Work, actor_for, user_today
from handlers.interactions import any_of
from handlers.lookup_reply import guessed, resolve_match
from handlers.payloads import kind_choice, undo_value
from models import Account

NAME_WORDS_MAX = 8  # the longest account name (in words) looked for at the start
_UNITS = r"d|day|days|w|wk|week|weeks|m|mo|month|months"
_DURATION = re.compile(rf"^(\d{{1,3}}\s*({_UNITS})|\d{{4}}-\d{{2}}-\d{{2}})$", re.IGNORECASE)
_AMOUNT = re.compile(r"^\d{1,3}$")
_UNIT = re.compile(rf"^({_UNITS})$", re.IGNORECASE)


@dataclass(frozen=True)
class LogText:
    """`log acme corp call yesterday talked renewal`, read."""

    query: str
    kind: str | None  # None: not said, so the rep is asked
    on: date | None
    note: str | None


def _details(words: list[str], today: date) -> tuple[str | None, date | None, list[str]]:
    """[kind] [when] or [when] [kind] at the start of `words`; the rest is the note."""
    kind, on = None, None
    for _ in range(2):
        if words and kind is None and touch_kind(words[0]):
            kind, words = touch_kind(words[0]), words[1:]
            continue
        when = read_when(words, today=today) if on is None else None
        if when is None:
            break
        on, words = when.day, words[when.words :]
    return kind, on, words


def _starts_details(words: list[str], today: date) -> bool:
    return not words or touch_kind(words[0]) is not None or starts_a_when(words, today=today)


def _exact_prefixes(session, args: list[str]) -> list[int]:
    """How many leading words are exactly an account's name (or CRM id): every such
    count, longest first."""
    counts = range(min(len(args), NAME_WORDS_MAX), 0, -1)
    texts = {n: " ".join(args[:n]) for n in counts}
    keys = {normalize_name(text): n for n, text in texts.items()}
    found = session.execute(
        sa.select(Account.name_key, Account.external_id).where(
            Account.archived_at.is_(None),
            sa.or_(Account.name_key.in_(list(keys)), Account.external_id.in_(texts.values())),
        )
    ).all()
    hits = {keys.get(key, 0) for key, _ in found}
    hits |= {n for n, text in texts.items() for _, external in found if external == text}
    return sorted((n for n in hits if n), reverse=True)


def _name_words(session, args: list[str], today: date) -> int:
    """How many leading words name the account: an exact name followed by a kind, a when
    or nothing; else up to the first kind or when word; else an exact name with a note
    after it; else all of them."""
    exact = _exact_prefixes(session, args)
    for n in exact:
        if _starts_details(args[n:], today):
            return n
    split = next((i for i in range(1, len(args)) if _starts_details(args[i:], today)), None)
    if split is not None:
        return split
    return exact[0] if exact else len(args)


def read_log_text(session, args: list[str], *, today: date) -> LogText:
    """Split `/account log` words into the account, the kind, the day and the note."""
    start = _name_words(session, args, today) if args else 0
    kind, on, rest = _details(args[start:], today)
    return LogText(" ".join(args[:start]), kind, on, " ".join(rest) or None)


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


def check_length(text: str | None, limit: int, what: str) -> None:
    text = (text or "").strip()
    if len(text) > limit:
        raise InvalidInput(f"The {what} is {len(text):,} characters; keep it under {limit:,}.")


def _new_key() -> str:
    return f"cmd:{uuid.uuid4().hex}"


# --- the command ------------------------------------------------------------------------


def log_from_command(runtime: Runtime, args: list[str], user_id: str, reply) -> None:
    today = user_today(runtime, user_id)
    with runtime.db.session() as session:
        text = read_log_text(session, args, today=today)
        check_length(text.note, NOTE_MAX, "note")
        on = text.on.isoformat() if text.on else None
        pending = {"do": "log", "kind": text.kind, "on": on, "note": text.note}
        match = resolve_match(session, text.query, reply, verb="log", pending=pending)
        if match is None:
            return
        name = session.get(Account, match.account_id).name
    query = text.query if guessed(match) else None
    if text.kind is None:
        question = log_blocks.kind_question(
            account_id=match.account_id,
            name=name,
            on=text.on,
            today=today,
            note=text.note,
            query=query,
        )
        reply(question, private=True)
        return
    key = _new_key() if query else None
    reply(
        log_and_confirm(
            runtime, match.account_id, kind=text.kind, on=text.on, note=text.note,
            user_id=user_id, today=today, query=query, key=key,
        )
    )  # fmt: skip


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
        touch = log_touch(
            session=session,
            account_id=account_id,
            kind=kind,
            now=runtime.now(),
            actor=actor_for(runtime, user_id),
            source="command",
            on=on,
            today=today,
            note=note,
            dedupe_key=key,
        )
        name = session.get(Account, account_id).name
    if touch is None:
        return notice(f"Already logged on *{escape(name)}*.")
    text = log_blocks.logged_text(kind=kind, name=name, on=on, today=today, query=query)
    return log_blocks.with_undo(text, what="touch", key=key if query else None)


def snooze_from_command(runtime: Runtime, args: list[str], user_id: str, reply) -> None:
    query, length, reason = split_snooze_args(args)
    until = parse_snooze(length, today=user_today(runtime, user_id))
    check_length(reason, REASON_MAX, "reason")
    pending = {"do": "snooze", "until": until.isoformat(), "reason": reason}
    with runtime.db.session() as session:
        match = resolve_match(session, query, reply, verb="snooze", pending=pending)
    if match is None:
        return
    key = _new_key() if guessed(match) else None
    with runtime.db.transaction() as session:
        snooze_account(
            session=session,
            account_id=match.account_id,
            until=until,
            now=runtime.now(),
            actor=actor_for(runtime, user_id),
            reason=reason,
            dedupe_key=key,
        )
        name = escape(session.get(Account, match.account_id).name)
    guess = f" (the closest match to {log_blocks.quoted(query)})" if key else ""
    text = f"💤 *{name}*{guess} snoozed until {day_label(until)}."
    reply(log_blocks.with_undo(text, what="snooze", key=key))


# --- the other reading of a name that starts with a sub-command word ----------------------


def exact_account(session, text: str) -> tuple[int, str] | None:
    """The live account whose name (normalised) or CRM id is exactly `text`."""
    key = normalize_name(text)
    if not key:
        return None
    row = session.execute(
        sa.select(Account.id, Account.name)
        .where(sa.or_(Account.name_key == key, Account.external_id == text.strip()))
        .order_by(Account.archived_at.is_not(None), Account.id)
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def _sub_command_reading(session, verb: str, args: list[str], today: date):
    """(account id, pending action) when `verb args` is a sub-command that names one
    account without guessing between several; else None."""
    if verb == "log":
        text = read_log_text(session, args, today=today)
        on = text.on.isoformat() if text.on else None
        query, pending = text.query, {"do": "log", "kind": text.kind, "on": on, "note": text.note}
    elif verb == "snooze":
        query, length, reason = split_snooze_args(args)
        until = parse_snooze(length, today=today)
        pending = {"do": "snooze", "until": until.isoformat(), "reason": reason}
    elif verb == "plan":
        query, pending = " ".join(args), {"do": "plan"}
    else:
        return None
    if not query.strip():
        return None
    match = find_account_match(session=session, query=query)
    return match.account_id, {k: v for k, v in pending.items() if v is not None}


def two_readings(runtime: Runtime, words: list[str], user_id: str) -> dict | None:
    """`/account log cabin supplies` when "Log Cabin Supplies" is an account and the
    log reading names an account too: a pick between the two, else None."""
    verb, args = words[0].lower(), words[1:]
    if verb not in ("log", "snooze", "plan") or not args:
        return None
    today = user_today(runtime, user_id)
    with runtime.db.session() as session:
        named = exact_account(session, " ".join(words))
        if named is None:
            return None
        try:
            other = _sub_command_reading(session, verb, args, today)
        except (InvalidInput, AccountNotFound, AmbiguousAccount):
            return None  # only the name makes sense
        if other is None:
            return None
        action_name = session.get(Account, other[0]).name
    return log_blocks.two_readings(
        " ".join(words),
        name_id=named[0],
        name=named[1],
        action_id=other[0],
        action_name=action_name,
        pending=other[1],
    )


# --- the buttons ----------------------------------------------------------------------------

GONE = (
    "That account no longer exists (it may have been merged or removed in the CRM). "
    "Look it up again with `/account NAME`."
)


def _message_key(body: dict, user_id: str) -> str:
    """One key per question message: a second click on it logs nothing more."""
    container = body.get("container") or {}
    where = f"{user_id}:{container.get('channel_id')}:{container.get('message_ts')}"
    if not container.get("message_ts"):
        return _new_key()
    return "cmd:" + hashlib.sha256(where.encode()).hexdigest()[:32]


def finish_kind(runtime: Runtime, body: dict, respond: Reply) -> None:
    """A button of "what kind of touch was it?": log it and replace the question."""
    choice = kind_choice(body)  # checked: a tampered value gets a clear message
    user_id = body["user"]["id"]
    today = user_today(runtime, user_id)
    if choice.on is not None:
        check_touch_day(choice.on, today=today)
    with runtime.db.session() as session:
        if session.get(Account, choice.id) is None:
            raise InvalidInput(GONE)
    payload = log_and_confirm(
        runtime, choice.id, kind=choice.kind, on=choice.on, note=choice.note,
        user_id=user_id, today=today, query=choice.q, key=_message_key(body, user_id),
    )  # fmt: skip
    respond(**payload, response_type="ephemeral", replace_original=True)


def finish_undo(runtime: Runtime, body: dict, respond: Reply) -> None:
    """The Undo button: take back exactly that touch or snooze, once."""
    value = undo_value(body)
    user_id = body["user"]["id"]
    with runtime.db.transaction() as session:
        undone = take_back(
            session=session,
            what=value.what,
            key=value.key,
            slack_user_id=user_id,
            now=runtime.now(),
        )
    if undone is None:
        text = "↩️ Already undone."
    elif undone.what == "touch":
        what = with_article(undone.kind or "touch")
        text = f"↩️ Undone: {what} on *{escape(undone.account_name)}* is no longer logged."
    else:
        text = f"↩️ Undone: *{escape(undone.account_name)}* is no longer snoozed."
    respond(**notice(text), replace_original=True)


def register(app: App, runtime: Runtime, work: Work) -> None:
    def accept(ack: Ack, body: dict, context: BoltContext) -> None:
        work.accept(context, body)
        ack()

    def kind_work(body: dict, data: dict, reply: Reply, client: WebClient) -> None:
        finish_kind(runtime, body, reply)

    def undo_work(body: dict, data: dict, reply: Reply, client: WebClient) -> None:
        finish_undo(runtime, body, reply)

    app.action(any_of(Action.LOG_KIND))(ack=accept, lazy=[work.lazy(kind_work)])
    app.action(Action.UNDO)(ack=accept, lazy=[work.lazy(undo_work)])
