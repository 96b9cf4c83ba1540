"""The one way dates are written for people (Slack text, CLI messages): "3 Dec 2025",
"Tue 3 Dec", "3 Dec 2025, 14:05 UTC". ISO dates stay in JSON and button values only."""

from __future__ import annotations

from datetime import UTC, date, datetime
from datetime import time as clock_time

from bot.clock import as_utc
from bot.retention.errors import InvalidInput

# Morning ends: greetings turn to "Good afternoon", and REMINDER_CUTOFF's default.
NOON = clock_time(12, 0)


def day_label(day: date, *, year: bool = True, weekday: bool = False) -> str:
    """ "3 Mar 2026", "3 Mar" or "Tue 3 Mar" (no zero padding, whatever the platform's
    strftime)."""
    text = f"{day.day} {day:%b %Y}" if year else f"{day.day} {day:%b}"
    return f"{day:%a} {text}" if weekday else text


def weekday_label(day: date) -> str:
    """ "Tue 3 Dec": a day within the coming year (away days, holidays, a return)."""
    return day_label(day, year=False, weekday=True)


def near_day_label(day: date, *, today: date) -> str:
    """A day near `today` with its weekday ("Tue 3 Dec"), one in another year with the
    year ("3 Dec 2025")."""
    if day.year == today.year:
        return day_label(day, year=False, weekday=True)
    return day_label(day)


def moment_label(moment: datetime) -> str:
    """ "3 Dec 2025, 14:05 UTC" (an aware moment, shown in UTC)."""
    moment = as_utc(moment)
    return f"{day_label(moment.date())}, {moment:%H:%M} UTC"


def span_label(starts_on: date, ends_on: date) -> str:
    """ "Tue 3 – Fri 6 Dec", "Mon 30 Nov – Fri 4 Dec", "Thu 24 Dec 2026 – Sat 2 Jan 2027";
    one day alone is "Tue 3 Dec"."""
    last = weekday_label(ends_on)
    if starts_on == ends_on:
        return last
    if starts_on.year != ends_on.year:
        first = day_label(starts_on, weekday=True)
        return f"{first} – {day_label(ends_on, weekday=True)}"
    if starts_on.month == ends_on.month:
        return f"{starts_on:%a} {starts_on.day} – {last}"
    return f"{weekday_label(starts_on)} – {last}"


def parse_as_of(value: str | None) -> date | None:
    """The day of an `--as-of YYYY-MM-DD` option (None when not given)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"--as-of: “{value}” is not a date; use YYYY-MM-DD, e.g. 2026-06-30."
        ) from None


def as_day(value: date | datetime | str) -> date:
    """A date as is; a datetime as its UTC date (naive datetimes are taken as UTC); an
    ISO date text (SQLite returns grouped days as text)."""
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.date()
    if isinstance(value, date):
        return value
    raise TypeError(f"a day must be a date, a datetime or ISO text, not {type(value).__name__}")
