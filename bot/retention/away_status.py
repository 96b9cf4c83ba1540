"""A Slack status that says the rep is away ("🌴 Vacationing" until Friday).

Rebuy never pauses reminders on its own: the morning's set still goes out, and its first
message offers, once per status, "pause reminders until Fri, Aug 21?". Only a status with
an expiry is offered (the last away day comes from it); one without says nothing about
when the rep is back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.retention.away_dates import MAX_AWAY_DAYS

# Slack's own "Vacationing" and "Out sick" statuses, and other travel and leave emoji.
AWAY_EMOJI = frozenset(
    {
        ":palm_tree:",
        ":desert_island:",
        ":beach_with_umbrella:",
        ":airplane:",
        ":airplane_departure:",
        ":face_with_thermometer:",
    }
)
AWAY_WORDS = re.compile(
    r"\b(vacation(ing)?|holidays?|ooo|out of (the )?office|on leave|(annual|parental|sick) "
    r"leave|pto|out sick|days? off|off work|urlaub|cong[ée]s?|vacaciones|ferie)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class SlackStatus:
    emoji: str | None
    text: str | None
    expires_at: datetime | None  # aware UTC; None: no expiry


def status_from_profile(profile: dict) -> SlackStatus:
    """users.info / users.list `profile` -> the status (`status_expiration` 0: none)."""
    expiration = profile.get("status_expiration")
    expires_at = None
    if isinstance(expiration, int | float) and not isinstance(expiration, bool) and expiration > 0:
        try:
            expires_at = datetime.fromtimestamp(expiration, tz=ZoneInfo("UTC"))
        except (OverflowError, OSError, ValueError):
            expires_at = None
    return SlackStatus(
        emoji=(str(profile.get("status_emoji") or "")[:100] or None),
        text=(str(profile.get("status_text") or "")[:150] or None),
        expires_at=expires_at,
    )


def looks_away(status: SlackStatus) -> bool:
    """Does the status say vacation, leave, out of office or out sick?"""
    if status.emoji and status.emoji.lower() in AWAY_EMOJI:
        return True
    return bool(status.text and AWAY_WORDS.search(status.text))


def away_offer(
    status: SlackStatus,
    *,
    now: datetime,
    tz: str,
    already_offered: date | None,
    away_days: list[tuple[date, date]] = (),
) -> date | None:
    """The last away day to offer pausing reminders until, or None: the status looks away
    and expires after today (in the rep's zone), no offer was made for that day yet, and
    no away period already covers tomorrow."""
    if status.expires_at is None or status.expires_at <= now or not looks_away(status):
        return None
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    # A status cleared at midnight (or 23:59) is away through the day before it clears.
    last_day = (status.expires_at.astimezone(zone) - timedelta(seconds=1)).date()
    if last_day <= today or last_day == already_offered:
        return None
    last_day = min(last_day, today + timedelta(days=MAX_AWAY_DAYS - 1))
    tomorrow = today + timedelta(days=1)
    if any(start <= tomorrow <= end for start, end in away_days):
        return None
    return last_day
