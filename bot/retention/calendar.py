"""Working days: weekends, public holidays (by the rep's country) and away periods.

Public holidays come from the `holidays` package, per ISO country code and optional
subdivision (a US state, a German Land). A rep without a country of their own uses the
workspace default (HOLIDAY_COUNTRY); with neither, only weekends are days off.

Away periods are the rep's own days off (leave, a trip), in their local dates, both ends
inclusive, optionally with a colleague covering their accounts.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.retention.away_dates import MAX_AWAY_DAYS
from bot.retention.dates import span_label, weekday_label
from bot.retention.errors import InvalidInput
from bot.retention.results import Away, AwayWithCover
from models import AwayPeriod, Rep

if TYPE_CHECKING:
    import holidays

# Looking further than this for the next working day means the calendar is broken.
MAX_DAYS_OFF_IN_A_ROW = 60


@dataclass(frozen=True)
class WorkCalendar:
    """The days one rep works: Monday to Friday minus their public holidays."""

    country: str | None = None
    subdivision: str | None = None

    def holiday(self, day: date) -> str | None:
        """The public holiday's name on `day`, or None."""
        if not self.country:
            return None
        return _holiday_name(self.country, self.subdivision, day)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and self.holiday(day) is None

    def why_off(self, day: date) -> str | None:
        """ "weekend", the holiday's name, or None on a working day."""
        if day.weekday() >= 5:
            return "weekend"
        return self.holiday(day)

    def next_working_day(self, day: date) -> date:
        """`day` itself when it is a working day, else the first one after it."""
        for offset in range(MAX_DAYS_OFF_IN_A_ROW):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {MAX_DAYS_OFF_IN_A_ROW} days of {day}")

    def working_days_after(self, start: date, end: date) -> int:
        """How many working days fall after `start`, up to and including `end` (0 when
        `end` is not after `start`). Arithmetic for the weekdays and a bisect in the
        year's holiday list, so a year-long gap costs no more than a day's."""
        if end <= start:
            return 0
        weekdays = _weekdays_through(end) - _weekdays_through(start)
        if not self.country:
            return weekdays
        off = 0
        for year in range(start.year, end.year + 1):
            days = _weekday_holidays(self.country, self.subdivision, year)
            off += bisect.bisect_right(days, end) - bisect.bisect_right(days, start)
        return weekdays - off

    def working_days_from(self, day: date, count: int) -> list[date]:
        """The first `count` working days on or after `day`."""
        found: list[date] = []
        day = self.next_working_day(day)
        while len(found) < count:
            found.append(day)
            day = self.next_working_day(day + timedelta(days=1))
        return found

    def upcoming(self, day: date, count: int) -> list[tuple[date, str]]:
        """The next `count` public holidays on a weekday (days off that a weekend is not
        already) from `day` on, within a year."""
        found: list[tuple[date, str]] = []
        for offset in range(366):
            candidate = day + timedelta(days=offset)
            name = self.holiday(candidate) if candidate.weekday() < 5 else None
            if name:
                found.append((day + timedelta(days=offset), name))
                if len(found) == count:
                    break
        return found

    def working_days_back(self, day: date) -> Iterator[date]:
        """Working days from `day` backwards (itself first when it is one)."""
        while True:
            if self.is_working_day(day):
                yield day
            day -= timedelta(days=1)


_LOCK = threading.Lock()


@lru_cache(maxsize=64)
def _country_holidays(country: str, subdivision: str | None) -> holidays.HolidayBase:
    import holidays

    return holidays.country_holidays(country, subdiv=subdivision)


def _weekdays_through(day: date) -> int:
    """Monday-to-Friday days from a fixed Monday (1 Jan 0001) up to and including `day`."""
    ordinal = day.toordinal() - 1  # 0 is Monday 1 Jan 0001
    weeks, rest = divmod(ordinal, 7)
    return weeks * 5 + min(rest + 1, 5)


@lru_cache(maxsize=512)
def _weekday_holidays(country: str, subdivision: str | None, year: int) -> list[date]:
    """The year's public holidays that fall on a weekday, sorted."""
    import holidays

    table = holidays.country_holidays(country, subdiv=subdivision, years=year)
    return sorted(day for day in table if day.weekday() < 5 and day.year == year)


def _holiday_name(country: str, subdivision: str | None, day: date) -> str | None:
    table = _country_holidays(country, subdivision)
    # The table fills itself year by year on first use; keep that single-threaded.
    with _LOCK:
        return table.get(day)


def calendar_for(country: str | None, subdivision: str | None = None) -> WorkCalendar:
    """A validated calendar; InvalidInput names an unknown country or subdivision."""
    code = (country or "").strip().upper() or None
    sub = (subdivision or "").strip().upper() or None
    if code is None:
        if sub:
            raise InvalidInput(f"Subdivision {sub} needs a country (e.g. DE with BY).")
        return WorkCalendar()
    import holidays  # lazily: a CLI command without holidays never pays for it

    supported = holidays.list_supported_countries()
    if code not in supported:
        raise InvalidInput(
            f"Unknown holiday country “{country}”: use an ISO 3166 code such as US, DE or GB."
        )
    if sub and sub not in supported[code]:
        some = ", ".join(supported[code][:8]) or "none"
        raise InvalidInput(f"{code} has no subdivision “{subdivision}” (known: {some}, …).")
    # The package also knows aliases (DEU, USA, UK); a rep's country is stored
    # as the two-letter code (a 2-character column).
    return WorkCalendar(_alpha2(code), sub)


@lru_cache(maxsize=512)
def _alpha2(code: str) -> str:
    import holidays

    return holidays.country_holidays(code).country


@dataclass(frozen=True)
class Calendars:
    """Every rep's calendar: their own country when set, else the workspace default
    (HOLIDAY_COUNTRY / HOLIDAY_SUBDIVISION); built once from the settings, passed down."""

    default_country: str | None = None
    default_subdivision: str | None = None

    def of(self, country: str | None, subdivision: str | None = None) -> WorkCalendar:
        if country:
            return _stored_calendar(country, subdivision)
        return _stored_calendar(self.default_country, self.default_subdivision)


@lru_cache(maxsize=256)
def _stored_calendar(country: str | None, subdivision: str | None) -> WorkCalendar:
    try:
        return calendar_for(country, subdivision)
    except InvalidInput:
        # Stored codes were checked on the way in; one the holidays package has since
        # dropped falls back to weekends rather than breaking every list.
        return WorkCalendar()


def rep_calendar(rep: Rep, *, default_country: str | None, default_subdivision: str | None = None):
    """The rep's own country when set, else the workspace default."""
    if rep.country:
        return calendar_for(rep.country, rep.subdivision)
    return calendar_for(default_country, default_subdivision)


# --- away periods -----------------------------------------------------------------------


def _plain(row: AwayPeriod) -> Away:
    return Away(row.id, row.rep_id, row.starts_on, row.ends_on, row.cover_rep_id)


def set_away(
    *,
    session: Session,
    rep_id: int,
    starts_on: date,
    ends_on: date,
    now: datetime,
    cover_rep_id: int | None = None,
) -> Away:
    """Record that the rep is away from `starts_on` to `ends_on` (inclusive). A period
    that overlaps one already recorded is refused with a message saying which."""
    if ends_on < starts_on:
        raise InvalidInput(
            f"The away period ends ({weekday_label(ends_on)}) before it starts "
            f"({weekday_label(starts_on)})."
        )
    if (ends_on - starts_on).days + 1 > MAX_AWAY_DAYS:
        raise InvalidInput(f"An away period can be at most {MAX_AWAY_DAYS} days long.")
    if cover_rep_id == rep_id:
        raise InvalidInput("A rep cannot cover for themselves.")
    if cover_rep_id is not None:
        cover = session.get(Rep, cover_rep_id)
        if cover is None or not cover.active:
            raise InvalidInput("The cover rep is not an active rep.")
    clash = session.exec(
        select(AwayPeriod).where(
            AwayPeriod.rep_id == rep_id,
            AwayPeriod.starts_on <= ends_on,
            AwayPeriod.ends_on >= starts_on,
        )
    ).first()
    if clash is not None:
        raise InvalidInput(
            f"Already away {span_label(clash.starts_on, clash.ends_on)}: "
            "cancel or end that period first."
        )
    row = AwayPeriod(
        rep_id=rep_id,
        starts_on=starts_on,
        ends_on=ends_on,
        cover_rep_id=cover_rep_id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return _plain(row)


def end_away(*, session: Session, rep_id: int, today: date) -> Away | None:
    """The rep is back today: the period under way ends yesterday (one that starts today
    is dropped). Returns the period as it was, or None when the rep was not away."""
    row = session.exec(
        select(AwayPeriod).where(
            AwayPeriod.rep_id == rep_id,
            AwayPeriod.starts_on <= today,
            AwayPeriod.ends_on >= today,
        )
    ).first()
    if row is None:
        return None
    before = _plain(row)
    if row.starts_on >= today:
        session.delete(row)
    else:
        row.ends_on = today - timedelta(days=1)
        session.add(row)
    session.flush()
    return before


def cancel_away(*, session: Session, rep_id: int, away_id: int, today: date) -> Away:
    """Take back one of the rep's away periods: one ahead is dropped, one under way ends
    yesterday (the rep is back today). Returns the period as it was; InvalidInput when it
    is not the rep's, already over, or gone."""
    row = session.get(AwayPeriod, away_id)
    if row is None or row.rep_id != rep_id or row.ends_on < today:
        raise InvalidInput("That away period is already over or was removed.")
    before = _plain(row)
    if row.starts_on >= today:
        session.delete(row)
    else:
        row.ends_on = today - timedelta(days=1)
        session.add(row)
    session.flush()
    return before


def away_periods(*, session: Session, rep_id: int, today: date) -> list[Away]:
    """The rep's away periods under way or ahead, soonest first."""
    rows = session.exec(
        select(AwayPeriod)
        .where(AwayPeriod.rep_id == rep_id, AwayPeriod.ends_on >= today)
        .order_by(AwayPeriod.starts_on)
    )
    return [_plain(row) for row in rows]


def away_with_covers(*, session: Session, rep_id: int, today: date) -> list[AwayWithCover]:
    """The rep's away periods under way or ahead, soonest first, with their cover reps."""
    found = []
    for away in away_periods(session=session, rep_id=rep_id, today=today):
        cover = session.get(Rep, away.cover_rep_id) if away.cover_rep_id else None
        if cover is None:
            found.append(AwayWithCover(away))
        else:
            found.append(AwayWithCover(away, cover.slack_user_id, cover.name or cover.email))
    return found


def away_on(*, session: Session, days: Collection[date]) -> list[Away]:
    """Every away period covering any of `days` (one query for a whole sweep)."""
    if not days:
        return []
    rows = session.exec(
        select(AwayPeriod).where(AwayPeriod.starts_on <= max(days), AwayPeriod.ends_on >= min(days))
    )
    return [_plain(row) for row in rows if any(row.starts_on <= d <= row.ends_on for d in days)]


def last_return(*, session: Session, rep_ids: Collection[int], before: date) -> dict[int, date]:
    """For each rep, the last day of their latest away period that ended before `before`."""
    if not rep_ids:
        return {}
    rows = session.execute(
        sa.select(AwayPeriod.rep_id, sa.func.max(AwayPeriod.ends_on))
        .where(AwayPeriod.rep_id.in_(list(rep_ids)), AwayPeriod.ends_on < before)
        .group_by(AwayPeriod.rep_id)
    )
    return {rep_id: _as_date(ends_on) for rep_id, ends_on in rows}


def _as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value
