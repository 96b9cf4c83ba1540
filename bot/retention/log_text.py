"""Reading what a rep typed after `/account log` and `/account snooze`: the account, the
kind, the day, the note or reason; and the other reading of a text that is also an
account's name ("log cabin supplies")."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from bot.retention.actions import parse_snooze
from bot.retention.errors import AccountNotFound, AmbiguousAccount, InvalidInput
from bot.retention.lookup import find_account_match
from bot.retention.name_hits import exact_account, exact_prefixes
from bot.retention.touch_kinds import touch_kind
from bot.retention.when import read_when, starts_a_when
from models import Account

NAME_WORDS_MAX = 8  # the longest account name (in words) looked for at the start
_UNITS = r"d|day|days|w|wk|week|weeks|m|mo|month|months"
_DURATION = re.compile(rf"^(\d{{1,3}}\s*({_UNITS})|\d{{4}}-\d{{2}}-\d{{2}})$", re.IGNORECASE)
_AMOUNT = re.compile(r"^\d{1,3}$")
_UNIT = re.compile(rf"^({_UNITS})$", re.IGNORECASE)
# The sub-commands whose text may also be read as an account's name.
ACTING_VERBS = ("log", "snooze", "plan")


@dataclass(frozen=True)
class LogText:
    """`log acme corp call yesterday talked renewal`, read."""

    query: str
    kind: str | None  # None: not said, so the rep is asked
    on: date | None
    note: str | None

    def pending(self) -> dict:
        """What a pick-list button carries to finish this log once the rep chose."""
        on = self.on.isoformat() if self.on else None
        return {"do": "log", "kind": self.kind, "on": on, "note": self.note}


@dataclass(frozen=True)
class SnoozeText:
    """`snooze acme corp 2w buyer on leave`, read."""

    query: str
    until: date
    reason: str | None

    def pending(self) -> dict:
        return {"do": "snooze", "until": self.until.isoformat(), "reason": self.reason}


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


def _name_words(session: Session, args: list[str], today: date) -> int:
    """How many leading words name the account: an exact name followed by a kind, a when
    or nothing; else up to the first kind or when word; else an exact name with a note
    after it; else all of them."""
    exact = exact_prefixes(session=session, words=args, most=NAME_WORDS_MAX)
    for n in exact:
        if _starts_details(args[n:], today):
            return n
    split = next((i for i in range(1, len(args)) if _starts_details(args[i:], today)), None)
    if split is not None:
        return split
    return exact[0] if exact else len(args)


def read_log_text(*, session: Session, args: list[str], today: date) -> LogText:
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


def read_snooze_text(args: list[str], *, today: date) -> SnoozeText:
    """Split `/account snooze` words into the account, the snooze's end and the reason."""
    query, length, reason = split_snooze_args(args)
    return SnoozeText(query, parse_snooze(length, today=today), reason)


def check_length(text: str | None, limit: int, what: str) -> None:
    text = (text or "").strip()
    if len(text) > limit:
        raise InvalidInput(f"The {what} is {len(text):,} characters; keep it under {limit:,}.")


@dataclass(frozen=True)
class TwoReadings:
    """A text that is an account's exact name and also a sub-command naming another."""

    name_id: int
    name: str
    action_id: int
    action_name: str
    pending: dict  # what the sub-command reading would do


def _sub_command_reading(session: Session, verb: str, args: list[str], today: date):
    """(account id, pending action) when `verb args` is a sub-command that names one
    account without guessing between several; else None."""
    if verb == "log":
        text = read_log_text(session=session, args=args, today=today)
        query, pending = text.query, text.pending()
    elif verb == "snooze":
        snooze = read_snooze_text(args, today=today)
        query, pending = snooze.query, snooze.pending()
    else:
        query, pending = " ".join(args), {"do": "plan"}
    if not query.strip():
        return None
    match = find_account_match(session=session, query=query)
    return match.account_id, {k: v for k, v in pending.items() if v is not None}


def two_readings(*, session: Session, words: list[str], today: date) -> TwoReadings | None:
    """`/account log cabin supplies` when "Log Cabin Supplies" is an account and the log
    reading names an account too: both readings, else None."""
    verb, args = words[0].lower(), words[1:]
    if verb not in ACTING_VERBS or not args:
        return None
    named = exact_account(session=session, text=" ".join(words))
    if named is None:
        return None
    try:
        other = _sub_command_reading(session, verb, args, today)
    except (InvalidInput, AccountNotFound, AmbiguousAccount):
        return None  # only the name makes sense
    if other is None:
        return None
    action_name = session.get(Account, other[0]).name
    return TwoReadings(named[0], named[1], other[0], action_name, other[1])
