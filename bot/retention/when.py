"""When a touch happened, as a rep types it after `/account log acme call`:
"today", "yesterday", "2 days ago", "a week ago", "Mon" / "last monday" (the most recent
one before today), "on 3 Dec", "Dec 3 2025", "2026-12-01"; "tomorrow", "next friday",
"in 2 days" and "1 day from now" are read only to be refused. A weekday written as a
word that is also English ("sat", "sun", "wed") is a day only as the last word of the
text or after "on"/"last": "meeting sat down with the buyer" is a note. Dates are read by
python-dateutil; every answer is a day in the rep's own calendar (`today` is theirs),
never in the future and at most MAX_DAYS_BACK days back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dateutil import parser as date_parser
from dateutil.relativedelta import relativedelta

from bot.retention.dates import day_label
from bot.retention.errors import InvalidInput
from bot.retention.limits import MAX_DAYS_BACK

WEEKDAYS = {
    "mon": 0,
    "monday": 0,
    "tue": 1,
    "tues": 1,
    "tuesday": 1,
    "wed": 2,
    "wednesday": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "thursday": 3,
    "fri": 4,
    "friday": 4,
    "sat": 5,
    "saturday": 5,
    "sun": 6,
    "sunday": 6,
}
# Weekday abbreviations that are also English words: a day only when nothing follows them
# or after "on"/"last" ("on sat", "last sun"), else they belong to the note.
AMBIGUOUS_WEEKDAYS = frozenset({"sat", "sun", "wed"})
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_UNITS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "month": 0, "months": 0}
_MONTH = re.compile(
    r"^(jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?$", re.IGNORECASE
)
_DAY = re.compile(r"^\d{1,2}(st|nd|rd|th)?$", re.IGNORECASE)
_YEAR = re.compile(r"^\d{4}$")
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# 3/12, 3.12.2025: the order of day and month is a guess either way, so it is refused.
_NUMERIC = re.compile(r"^\d{1,2}[/.]\d{1,2}([/.]\d{2,4})?$")


@dataclass(frozen=True)
class When:
    day: date
    words: int  # how many of the words it took


def _clean(word: str) -> str:
    return word.strip(",;").lower()


def _relative(words: list[str], today: date) -> When | None:
    """today, yesterday, N days/weeks/months ago, [last|on] monday; and days still to
    come, read so that they are refused rather than logged today with the words as the
    note: tomorrow, next friday, in 2 days, 2 days from now."""
    return _ahead(words, today) or _back(words, today)


def _back(words: list[str], today: date) -> When | None:
    first = words[0]
    if first == "today":
        return When(today, 1)
    if first == "yesterday":
        return When(today - timedelta(days=1), 1)
    lead = 1 if first in ("last", "on") and len(words) > 1 else 0
    weekday = WEEKDAYS.get(words[lead].rstrip("."))
    if weekday is not None:
        back = (today.weekday() - weekday - 1) % 7 + 1  # 1..7: strictly before today
        return When(today - timedelta(days=back), lead + 1)
    if len(words) >= 3 and words[2] == "ago" and words[1] in _UNITS:
        count = _count(first)
        return None if count is None else When(_shift(today, -count, words[1]), 3)
    return None


def _ahead(words: list[str], today: date) -> When | None:
    first = words[0]
    if first == "tomorrow":
        return When(today + timedelta(days=1), 1)
    if first == "next" and len(words) > 1 and words[1].rstrip(".") in WEEKDAYS:
        ahead = (WEEKDAYS[words[1].rstrip(".")] - today.weekday() - 1) % 7 + 1
        return When(today + timedelta(days=ahead), 2)
    if first == "in" and len(words) >= 3 and words[2] in _UNITS:
        count = _count(words[1])
        if count:
            return When(_shift(today, count, words[2]), 3)
    return _from_now(words, today)


def _shift(today: date, count: int, unit: str) -> date:
    """`count` days, weeks or months (a `_UNITS` word) after `today`; back if negative."""
    if _UNITS[unit]:
        return today + timedelta(days=count * _UNITS[unit])
    return today + relativedelta(months=count)


def _count(word: str) -> int | None:
    return int(word) if word.isdecimal() and len(word) <= 4 else _NUMBERS.get(word)


def _from_now(words: list[str], today: date) -> When | None:
    """N days/weeks/months from now: a day still to come (read to be refused)."""
    if len(words) < 4 or words[1] not in _UNITS or words[2:4] != ["from", "now"]:
        return None
    count = _count(words[0])
    return When(_shift(today, count, words[1]), 4) if count else None


def _an_english_word(when: When, words: list[str]) -> bool:
    """A bare "sat"/"sun"/"wed" with more text after it: the note's word, not a day."""
    return when.words == 1 and words[0].rstrip(".") in AMBIGUOUS_WEEKDAYS and len(words) > 1


def _calendar_date(words: list[str], today: date) -> When | None:
    """[on] 2026-12-01 / 3 Dec [2025] / Dec 3[,] [2025]: a day of the month by name."""
    lead = 1 if words[0] == "on" and len(words) > 1 else 0
    rest = words[lead:]
    if _ISO.match(rest[0]):
        try:
            return When(date.fromisoformat(rest[0]), lead + 1)
        except ValueError:
            raise InvalidInput(f"“{rest[0]}” is not a date.") from None
    if _NUMERIC.match(rest[0]):
        raise InvalidInput(
            f"I can't tell the day from the month in “{rest[0]}”: write it like "
            "`3 Dec` or `2026-12-03`."
        )
    if len(rest) < 2:
        return None
    pair = (rest[0], rest[1])
    if not (_DAY.match(pair[0]) and _MONTH.match(pair[1])) and not (
        _MONTH.match(pair[0]) and _DAY.match(pair[1])
    ):
        return None
    used = 2 + (len(rest) > 2 and bool(_YEAR.match(rest[2])))
    text = " ".join(rest[:used])
    try:
        day = date_parser.parse(text, default=datetime(today.year, 1, 1), dayfirst=True).date()
    except (ValueError, OverflowError):
        raise InvalidInput(f"“{text}” is not a date.") from None
    if used == 2 and day > today:
        day = day - relativedelta(years=1)  # "3 Dec" in November: last December
    return When(day, lead + used)


def read_when(words: list[str], *, today: date) -> When | None:
    """The day a phrase at the start of `words` names, and how many words it took; None
    when they do not start with one. InvalidInput for a day a touch cannot have (in the
    future, more than MAX_DAYS_BACK days back) or a date that reads two ways."""
    cleaned = [_clean(word) for word in words[:4]]
    if not cleaned or not cleaned[0]:
        return None
    when = _relative(cleaned, today) or _calendar_date(cleaned, today)
    if when is None or _an_english_word(when, cleaned):
        return None
    check_touch_day(when.day, today=today)
    return when


def check_touch_day(day: date, *, today: date) -> date:
    """`day` when a touch can be logged on it; InvalidInput saying why not."""
    if day > today:
        raise InvalidInput(
            f"A touch can't be logged in the future: {day_label(day)} is after today "
            f"({day_label(today)})."
        )
    if (today - day).days > MAX_DAYS_BACK:
        raise InvalidInput(
            f"Touches can be logged up to two years back ({MAX_DAYS_BACK:,} days); "
            f"{day_label(day)} is further back than that."
        )
    return day


def starts_a_when(words: list[str], *, today: date) -> bool:
    """Do `words` start with a when phrase (valid or not)?"""
    try:
        return read_when(words, today=today) is not None
    except InvalidInput:
        return True
