"""A rep's book of accounts at a glance, its filtered lists, streaks and the leaderboard."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session

from bot.clock import as_utc
from bot.retention.backlog import plan_first_touches
from bot.retention.calendar import Calendars, rep_calendar
from bot.retention.errors import InvalidInput
from bot.retention.facts import day_start, load_facts
from bot.retention.rebuy_model.outlook import outlooks_for, with_outlook
from bot.retention.reps import valid_tz
from bot.retention.results import LIST_FILTERS, BookEntry, BookSummary, LeaderboardRow
from bot.retention.signals import health_of
from bot.retention.status import assess
from bot.retention.urgency import HEADINGS, one_heading_each, urgency_key
from models import AwayPeriod, Rep, Touch

# Streaks look this far back (a long leave freezes, never resets, within it).
STREAK_LOOKBACK_DAYS = 240
FILTER_ALIASES = {
    "atrisk": "at-risk",
    "risk": "at-risk",
    "at_risk": "at-risk",
    "single": "single-threaded",
    "single_threaded": "single-threaded",
}


def book_entries(
    *,
    session: Session,
    owner_id: int | None,
    as_of: date,
    tier_cadence: Mapping[str, int],
    calendars: Calendars | None = None,
) -> list[BookEntry]:
    """Every account of one owner (or of everyone when owner_id is None), assessed."""
    facts = load_facts(session=session, as_of=as_of, owner_id=owner_id, with_order_days=True)
    plan_first_touches(
        session=session, facts=facts, as_of=as_of, tier_cadence=tier_cadence, calendars=calendars
    )
    outlooks = outlooks_for(session=session, account_ids=list(facts))
    entries = []
    for fact in facts.values():
        schedule, signals, health = assess(
            fact, as_of=as_of, tier_cadence=tier_cadence, calendars=calendars
        )
        signals, seen = with_outlook(signals, outlooks.get(fact.id), as_of=as_of, facts=fact)
        if seen is not None:
            health = health_of(signals)
        entries.append(BookEntry(fact, schedule, signals, health, as_of, outlook=seen))
    return entries


def matches(entry: BookEntry, which: str) -> bool:
    names = entry.names
    return {
        "due": entry.due,
        "overdue": "touch_overdue" in names,
        "dormant": bool(names & {"dormant_6m", "dormant_12m", "dormant_18m"}),
        "at-risk": entry.health.band == "at risk",
        "declining": "declining" in names,
        "single-threaded": "single_threaded" in names,
        "all": True,
    }[which]


def normalize_filter(text: str | None) -> str:
    which = (text or "due").strip().lower()
    which = FILTER_ALIASES.get(which, which)
    if which not in LIST_FILTERS:
        options = ", ".join(LIST_FILTERS)
        raise InvalidInput(f"“{text}” is not a list I know: try one of {options}.")
    return which


def filtered(entries: list[BookEntry], which: str) -> list[BookEntry]:
    """Entries matching a filter, the most urgent first (`urgency.urgency_key`)."""
    chosen = [entry for entry in entries if matches(entry, which)]
    chosen.sort(key=lambda e: urgency_key(e.facts, e.schedule, e.health))
    return chosen


def home_sections(entries: list[BookEntry]) -> dict[str, list[BookEntry]]:
    """The Home tab's lists (`urgency.HEADINGS`: at-risk, dormant, overdue, due today),
    each account once, under the most urgent heading it qualifies for; most urgent first
    within each."""
    ranked = sorted(entries, key=lambda e: urgency_key(e.facts, e.schedule, e.health))
    return one_heading_each(ranked, matches, HEADINGS)


def summarize(entries: list[BookEntry]) -> BookSummary:
    def count(which: str) -> int:
        return sum(1 for entry in entries if matches(entry, which))

    return BookSummary(
        accounts=len(entries),
        due_today=sum(1 for e in entries if e.due and not e.schedule.days_overdue),
        overdue=count("overdue"),
        dormant=count("dormant"),
        at_risk=count("at-risk"),
        declining=count("declining"),
        single_threaded=count("single-threaded"),
    )


def working_day_streak(
    *,
    session: Session,
    rep: Rep,
    today: date,
    default_country: str | None = None,
    default_subdivision: str | None = None,
) -> int:
    """Working days in a row, ending today or the last working day before it, with a touch
    logged by the rep. Weekends, the rep's public holidays (their country, else the
    workspace default) and their away days are skipped: they neither count nor break the
    streak (it is frozen while the rep is away). Today without a touch yet does not break
    it either. A touch counts on the rep's own calendar day (their Slack time zone), like
    `today`: a touch at 17:30 in Los Angeles is that day's, not the next UTC day's."""
    calendar = rep_calendar(
        rep, default_country=default_country, default_subdivision=default_subdivision
    )
    since = today - timedelta(days=STREAK_LOOKBACK_DAYS)
    conditions = [Touch.rep_id == rep.id]
    if rep.slack_user_id:
        conditions.append(Touch.slack_user_id == rep.slack_user_id)
    rows = session.execute(
        sa.select(Touch.touched_at).where(
            sa.or_(*conditions), Touch.touched_at >= day_start(since) - timedelta(days=1)
        )
    ).scalars()
    zone = ZoneInfo(valid_tz(rep.tz) or "UTC")
    days = {as_utc(value).astimezone(zone).date() for value in rows}
    away = session.execute(
        sa.select(AwayPeriod.starts_on, AwayPeriod.ends_on).where(
            AwayPeriod.rep_id == rep.id, AwayPeriod.ends_on >= since
        )
    ).all()

    def off(day: date) -> bool:
        return not calendar.is_working_day(day) or any(a <= day <= b for a, b in away)

    streak, day = 0, today
    if day not in days:
        day -= timedelta(days=1)
    while day >= since:
        if off(day):
            day -= timedelta(days=1)
            continue
        if day not in days:
            break
        streak += 1
        day -= timedelta(days=1)
    return streak


def leaderboard(
    *, session: Session, now: datetime, days: int = 7, limit: int = 5
) -> list[LeaderboardRow]:
    """Reps still in Slack by touches logged in the last `days` days (and distinct
    accounts touched)."""
    since = now - timedelta(days=days)
    rows = session.execute(
        sa.select(
            Rep.email,
            Rep.name,
            Rep.slack_user_id,
            sa.func.count(Touch.id),
            sa.func.count(sa.distinct(Touch.account_id)),
        )
        .join(Touch, Touch.rep_id == Rep.id)
        .where(Touch.touched_at >= since, Touch.touched_at <= now, Rep.active.is_(True))
        .group_by(Rep.id, Rep.email, Rep.name, Rep.slack_user_id)
        .order_by(sa.func.count(Touch.id).desc(), Rep.email)
        .limit(limit)
    ).all()
    return [LeaderboardRow(*row) for row in rows]
