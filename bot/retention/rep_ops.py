"""What the Slack listeners do for one rep, each a plain function over a session that
returns a plain result: their book, their App Home's content, their away days and
holiday calendar."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, select

from bot.retention import book as books
from bot.retention.actions import rep_for_slack_user
from bot.retention.book import BookEntry, BookSummary, LeaderboardRow
from bot.retention.calendar import (
    Away,
    AwayWithCover,
    Calendars,
    away_periods,
    away_with_covers,
    cancel_away,
    end_away,
    set_away,
)
from bot.retention.errors import InvalidInput
from models import Rep


def rep_tz(*, session: Session, slack_user_id: str | None) -> str | None:
    """The Slack user's time zone, as their rep's (None when not a rep)."""
    rep = rep_for_slack_user(session=session, slack_user_id=slack_user_id)
    return rep.tz if rep else None


def book_of(
    *,
    session: Session,
    rep_id: int,
    as_of: date,
    tier_cadence: Mapping[str, int],
    calendars: Calendars,
) -> list[BookEntry]:
    """Every account the rep owns, assessed as of their own today."""
    return books.book_entries(
        session=session,
        owner_id=rep_id,
        as_of=as_of,
        tier_cadence=tier_cadence,
        calendars=calendars,
    )


@dataclass(frozen=True)
class HomeContent:
    """One rep's App Home: their book by heading, streak, away days, the leaderboard."""

    board: list[LeaderboardRow]
    summary: BookSummary | None = None
    sections: dict[str, list[BookEntry]] | None = None
    streak: int = 0
    away: list[AwayWithCover] | None = None


def home_content(
    *,
    session: Session,
    rep: Rep | None,
    now: datetime,
    today: date,
    tier_cadence: Mapping[str, int],
    calendars: Calendars,
    default_country: str | None,
    default_subdivision: str | None,
) -> HomeContent:
    """What the App Home shows (for someone who is not a rep: the leaderboard only)."""
    board = books.leaderboard(session=session, now=now)
    if rep is None:
        return HomeContent(board=board)
    entries = book_of(
        session=session, rep_id=rep.id, as_of=today, tier_cadence=tier_cadence, calendars=calendars
    )
    return HomeContent(
        board=board,
        summary=books.summarize(entries),
        # Each account once, under its most urgent heading.
        sections=books.home_sections(entries),
        streak=books.working_day_streak(
            session=session,
            rep=rep,
            today=today,
            default_country=default_country,
            default_subdivision=default_subdivision,
        ),
        away=away_with_covers(session=session, rep_id=rep.id, today=today),
    )


# --- away days ----------------------------------------------------------------------------


def end_or_cancel_away(*, session: Session, rep_id: int, today: date) -> Away | None:
    """Back today from the period under way, else the next period ahead cancelled; None
    when there is neither."""
    ended = end_away(session=session, rep_id=rep_id, today=today)
    if ended is not None:
        return ended
    ahead = away_with_covers(session=session, rep_id=rep_id, today=today)
    if not ahead:
        return None
    return cancel_away(session=session, rep_id=rep_id, away_id=ahead[0].away.id, today=today)


@dataclass(frozen=True)
class CoverRef:
    """Who a rep named to cover for them: a Slack user, an e-mail, or a first name."""

    text: str  # as typed, for the message when nobody matches
    slack_user_id: str | None = None
    email: str | None = None
    handle: str | None = None


def _cover_rep(session: Session, ref: CoverRef) -> Rep | None:
    if ref.slack_user_id:
        return rep_for_slack_user(session=session, slack_user_id=ref.slack_user_id)
    if ref.email:
        return session.exec(select(Rep).where(Rep.email == ref.email.strip().lower())).first()
    return _rep_by_handle(session, (ref.handle or "").lower())


def _rep_by_handle(session: Session, handle: str) -> Rep | None:
    """`ben`: the one active rep whose first name or e-mail name is `ben`."""
    matches = [
        rep
        for rep in session.exec(select(Rep).where(Rep.active))
        if handle
        and (
            rep.email.split("@")[0].lower() == handle
            or (rep.name or "").split(" ")[0].lower() == handle
        )
    ]
    return matches[0] if len(matches) == 1 else None


def set_away_covered(
    *,
    session: Session,
    rep_id: int,
    starts_on: date,
    ends_on: date,
    now: datetime,
    cover: CoverRef | None,
    not_found: str,
) -> AwayWithCover:
    """Record an away period, with the active rep who covers it; InvalidInput with
    `not_found` when no active rep matches `cover`."""
    cover_rep = _cover_rep(session, cover) if cover else None
    if cover is not None and (cover_rep is None or not cover_rep.active):
        raise InvalidInput(not_found)
    away = set_away(
        session=session,
        rep_id=rep_id,
        starts_on=starts_on,
        ends_on=ends_on,
        now=now,
        cover_rep_id=cover_rep.id if cover_rep else None,
    )
    if cover_rep is None:
        return AwayWithCover(away, None, None)
    return AwayWithCover(away, cover_rep.slack_user_id, cover_rep.name or cover_rep.email)


@dataclass(frozen=True)
class Paused:
    until: date
    already: bool  # a period already held those days (a second press of the offer)


def pause_until(
    *, session: Session, rep_id: int, today: date, last_day: date, now: datetime
) -> Paused:
    """Away from today through `last_day`, unless a period already holds those days."""
    held = [
        p
        for p in away_periods(session=session, rep_id=rep_id, today=today)
        if p.starts_on <= today and p.ends_on >= last_day
    ]
    if held:
        return Paused(until=held[0].ends_on, already=True)
    set_away(session=session, rep_id=rep_id, starts_on=today, ends_on=last_day, now=now)
    return Paused(until=last_day, already=False)
