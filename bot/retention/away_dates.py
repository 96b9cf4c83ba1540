"""Away days as a rep types them: "dec 24 to jan 2", "3–21 Aug", "tomorrow", "next week".

Dates are read by python-dateutil's parser; only the words it does not know (today,
tomorrow, weekdays, this/next week, "for 2 weeks") are handled here. A date without a
year is the next one on or after today (an end before its start moves into the next
year), so "dec 24 to jan 2" spans New Year. The result is checked: not in the past, the
end not before the start, at most a year long and starting within a year.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from dateutil import parser as dateparser

from bot.retention.dates import weekday_label
from bot.retention.errors import InvalidInput

MAX_AWAY_DAYS = 366  # the same cap as bot.retention.calendar.set_away
MAX_DAYS_AHEAD = 366
# A start typed without a year may be this far back (the leave is under way: it is
# recorded from today); an end without a year rolls into the next year only when the
# leave then stays this short ("dec 24 to jan 2").
RECENT_START_DAYS = 31
ROLL_OVER_DAYS = 92
EXAMPLES = (
    "e.g. `/account away dec 24 to jan 2`, `/account away tomorrow` or `/account away next week`"
)

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SEPARATORS = re.compile(r"\s*[–—]\s*|\s+-\s+|\s+(?:to|until|till|through|thru)\s+")
_ISO = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_DAY_RANGE = re.compile(r"^(\d{1,2})\s*-\s*(\d{1,2})(?:st|nd|rd|th)?\s+(.+)$")  # 3-21 aug
_HYPHEN = re.compile(r"^(.*[a-z0-9.])-([a-z0-9].*)$")  # aug 3-aug 21
_FOR = re.compile(r"^(.*?)\s+for\s+(\d{1,3})\s*(d|days?|w|wks?|weeks?)$")
_DOTTED = re.compile(r"^\d{1,2}\.\d{1,2}\.")
_UNTIL = re.compile(r"^(?:until|till|through|thru)\s+(.+)$")


@dataclass(frozen=True)
class DateRange:
    starts_on: date
    ends_on: date

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1


def parse_away_range(text: str, *, today: date) -> DateRange:
    """The away days `text` names, both ends included; InvalidInput explains otherwise."""
    words = " ".join(text.lower().replace(",", " ").split())
    words = re.sub(r"^from\s+", "", words)
    if not words:
        raise InvalidInput(f"Say which days you are away, {EXAMPLES}.")
    span = _read(words, today)
    return check_range(span, today=today)


def check_range(span: DateRange, *, today: date) -> DateRange:
    if span.ends_on < span.starts_on:
        raise InvalidInput(
            f"The end ({weekday_label(span.ends_on)}) is before the start "
            f"({weekday_label(span.starts_on)}). Say the first day, then the last, {EXAMPLES}."
        )
    if span.ends_on < today:
        raise InvalidInput(f"{weekday_label(span.ends_on)} is already past. {_say_future()}")
    if span.starts_on < today:
        span = DateRange(today, span.ends_on)  # under way: away from today on
    if span.days > MAX_AWAY_DAYS:
        raise InvalidInput(
            f"That is {span.days:,} days; an away period can be a year at most. "
            "Split a longer leave into two."
        )
    if span.starts_on > today + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInput("That starts more than a year from now; set it nearer the time.")
    return span


def _say_future() -> str:
    return f"Say days from today on, {EXAMPLES}."


def _read(words: str, today: date) -> DateRange:
    duration = _FOR.match(words)
    if duration:
        start = _read(duration.group(1), today).starts_on
        count, unit = int(duration.group(2)), duration.group(3)
        length = count * 7 if unit.startswith("w") else count
        if length < 1:
            raise InvalidInput("Away for at least one day.")
        return DateRange(start, start + timedelta(days=length - 1))
    until = _UNTIL.match(words)
    if until:
        return DateRange(today, _end(until.group(1), today, start=today))
    named = _named_span(words, today)
    if named is not None:
        return named
    start_text, end_text = _split(words)
    # A start without a year may lie a few weeks back: the leave already under way.
    recent = today - timedelta(days=RECENT_START_DAYS)
    if end_text is None:
        day, _ = _day(start_text, today, after=today)
        return DateRange(day, day)
    if start_text.isdigit():  # "3-21 aug", "3 to 21 aug": the month comes with the end
        end, _ = _day(end_text, today, after=recent)
        try:
            start = end.replace(day=int(start_text))
        except ValueError:
            raise InvalidInput(f"There is no day {start_text} in {end:%B}.") from None
        return DateRange(start, end)
    start, _ = _day(start_text, today, after=recent)
    return DateRange(start, _end(end_text, today, start=start))


def _end(text: str, today: date, *, start: date) -> date:
    """The last day: on or after `start` when typed without a year, but only across New
    Year ("dec 24 to jan 2"), never a silent year-long leave ("aug 3 to aug 1")."""
    end, typed_year = _day(text, today, after=start, end=True)
    if not typed_year and end.year > start.year and (end - start).days > ROLL_OVER_DAYS:
        plain, _ = _day(text, today, after=date(start.year, 1, 1), end=True)
        raise InvalidInput(
            f"The end ({weekday_label(plain)}) is before the start ({weekday_label(start)}). "
            f"Say the first day, then the last, {EXAMPLES}."
        )
    return end


def _named_span(words: str, today: date) -> DateRange | None:
    """ "this week" (today to Friday), "next week" (Monday to Friday)."""
    if words == "this week":
        friday = today + timedelta(days=4 - today.weekday())
        return DateRange(today, max(friday, today))
    if words == "next week":
        monday = today + timedelta(days=7 - today.weekday())
        return DateRange(monday, monday + timedelta(days=4))
    return None


def _split(words: str) -> tuple[str, str | None]:
    """The start and end texts of a range (the end None for a single day)."""
    iso = _ISO.findall(words)
    if len(iso) == 2 and _ISO.sub("", words).strip(" -–—to") == "":
        return iso[0], iso[1]
    parts = _SEPARATORS.split(words)
    if len(parts) == 2:
        return parts[0].strip(), parts[1].strip()
    if len(parts) > 2:
        raise InvalidInput(f"Give one first and one last day, {EXAMPLES}.")
    day_range = _DAY_RANGE.match(words)
    if day_range:
        return day_range.group(1), f"{day_range.group(2)} {day_range.group(3)}"
    hyphen = _HYPHEN.match(words)
    if hyphen and not iso:
        return hyphen.group(1).strip(), hyphen.group(2).strip()
    return words, None


def _day(text: str, today: date, *, after: date, end: bool = False) -> tuple[date, bool]:
    """One day, and whether it is fixed (a year typed, or a word such as tomorrow): a
    word (today, tomorrow, friday, next week), or a date for dateutil. A date without a
    year is the first one on or after `after`."""
    text = text.strip()
    if text == "today":
        return today, True
    if text == "tomorrow":
        return today + timedelta(days=1), True
    named = _named_span(text, today)
    if named is not None:
        return (named.ends_on if end else named.starts_on), True
    weekday = text.removeprefix("next ").removeprefix("this ")
    if weekday in _WEEKDAYS or weekday in {w[:3] for w in _WEEKDAYS}:
        index = next(i for i, w in enumerate(_WEEKDAYS) if w.startswith(weekday))
        start = max(after, today)
        return start + timedelta(days=(index - start.weekday()) % 7), True
    return _calendar_date(text, after)


def _calendar_date(text: str, after: date) -> tuple[date, bool]:
    dayfirst = bool(_DOTTED.match(text))  # 24.12.2026 is always day first
    try:
        # Two defaults that differ only in their (leap) year tell a typed year apart.
        first = dateparser.parse(text, default=datetime(2000, 1, 1), dayfirst=dayfirst)
        second = dateparser.parse(text, default=datetime(2004, 1, 1), dayfirst=dayfirst)
    except (ValueError, OverflowError):
        raise InvalidInput(f"I can't read “{text}” as a date, {EXAMPLES}.") from None
    if first.year == second.year:
        return first.date(), True
    typed = first.date()
    later = (typed.month, typed.day) >= (after.month, after.day)
    year = after.year if later else after.year + 1
    return _in_year(typed, year), False


def _in_year(day: date, year: int) -> date:
    """`day` (read in a leap year) in `year`; 29 Feb in a year without one is refused."""
    try:
        return day.replace(year=year)
    except ValueError:
        raise InvalidInput(
            f"There is no 29 Feb in {year} (not a leap year): say 28 Feb or 1 Mar instead."
        ) from None
