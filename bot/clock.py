"""Time as a dependency: everything asks a clock for "now", always aware UTC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def fixed_clock(at: datetime) -> Clock:
    """A clock stopped at `at` (REBUY_NOW, tests, demos)."""
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    at = at.astimezone(UTC)
    return lambda: at


def clock_from(now: datetime | None) -> Clock:
    return fixed_clock(now) if now is not None else system_clock


@overload
def as_utc(value: datetime | str) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | str | None) -> datetime | None:
    """Normalise a datetime read from the database to aware UTC: SQLite forgets zones, and
    its aggregates (`max(touched_at)`) can come back as ISO text. Naive means UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def local_day_start(now: datetime, tz: str | None) -> datetime:
    """The start (aware UTC) of the calendar day `now` falls on in time zone `tz` (a rep's
    Slack zone); UTC midnight when the zone is unknown."""
    try:
        zone = ZoneInfo(tz) if tz else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone).astimezone(UTC)


def aware_utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive datetime is refused (a caller's "now" must say its zone)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: pass an aware UTC time")
    return moment.astimezone(UTC)
