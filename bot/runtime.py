"""The composition root's small core: settings, database and clock, built once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.clock import Clock, clock_from
from bot.db import Database
from bot.retention.calendar import Calendars
from bot.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock
    # Small per-process caches (e.g. Slack users who are not reps), keyed by purpose.
    caches: dict = field(default_factory=dict)

    def __deepcopy__(self, memo: dict) -> Runtime:
        # One per process: Bolt deep-copies a request's context for its lazy listeners,
        # and they must share this one (its database, clock and caches).
        return self

    def now(self) -> datetime:
        return self.clock()

    def today(self) -> date:
        return self.clock().date()

    def today_in(self, tz: str | None) -> date:
        """Today in a rep's own time zone (UTC when unknown)."""
        try:
            return self.clock().astimezone(ZoneInfo(tz)).date() if tz else self.today()
        except (ZoneInfoNotFoundError, ValueError):
            return self.today()

    @property
    def tier_cadence(self) -> dict[str, int]:
        return self.settings.rebuy_tier_cadence

    @property
    def calendars(self) -> Calendars:
        """Each rep's working days (their country, else HOLIDAY_COUNTRY)."""
        return Calendars(self.settings.holiday_country, self.settings.holiday_subdivision)


def build_runtime(settings: Settings | None = None, *, migrate: bool = True) -> Runtime:
    """Settings from the environment, the database migrated to head, the clock."""
    settings = settings or Settings()
    db = Database(settings.database_url)
    if migrate:
        db.ensure_schema()
    return Runtime(settings=settings, db=db, clock=clock_from(settings.rebuy_now))
