"""Reps and their Slack identities."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.retention.away_status import SlackStatus
from bot.retention.unowned import unowned_accounts
from bot.retention.wording import plural
from models import Rep, Touch


def valid_tz(tz: str | None) -> str | None:
    if not tz:
        return None
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return tz


def link_rep(
    *,
    session: Session,
    email: str,
    slack_user_id: str,
    tz: str | None,
    name: str | None,
    now: datetime,
) -> Rep | None:
    """Attach a Slack user to the rep with this e-mail (None if the e-mail owns nothing)."""
    rep = session.exec(select(Rep).where(Rep.email == email.strip().lower())).first()
    if rep is None:
        return None
    # A Slack id can only belong to one rep: release it from any stale row first.
    for other in session.exec(
        select(Rep).where(Rep.slack_user_id == slack_user_id, Rep.id != rep.id)
    ):
        other.slack_user_id = None
        other.dm_channel_id = None  # that DM belongs to the Slack user, not the rep
        session.add(other)
    session.flush()
    if rep.slack_user_id != slack_user_id:
        rep.dm_channel_id = None
    rep.slack_user_id = slack_user_id
    # Touches this person logged before we knew them count for them from now on.
    session.execute(
        sa.update(Touch)
        .where(Touch.slack_user_id == slack_user_id, Touch.rep_id.is_(None))
        .values(rep_id=rep.id)
        .execution_options(synchronize_session=False)
    )
    rep.tz = valid_tz(tz) or rep.tz
    rep.tz_synced_at = now
    if name and not rep.name:
        rep.name = name
    session.add(rep)
    session.flush()
    return rep


@dataclass(frozen=True)
class SlackUser:
    id: str
    email: str | None
    tz: str | None
    name: str | None
    deleted: bool = False
    status: SlackStatus | None = None


def store_statuses(*, session: Session, users: Iterable[SlackUser], now: datetime) -> int:
    """Remember linked reps' Slack statuses (to offer away days); how many changed."""
    by_id = {user.id: user.status for user in users if user.status is not None}
    changed = 0
    for rep in session.exec(select(Rep).where(Rep.slack_user_id.in_(list(by_id)))):
        status = by_id[rep.slack_user_id]
        fields = (status.emoji, status.text, status.expires_at)
        if (rep.status_emoji, rep.status_text, rep.status_expires_at) != fields:
            changed += 1
        rep.status_emoji, rep.status_text, rep.status_expires_at = fields
        rep.status_checked_at = now
        session.add(rep)
    session.flush()
    return changed


UNMATCHED_SHOWN = 10


@dataclass(frozen=True)
class SyncResult:
    linked: int
    updated: int
    unmatched_reps: list[str]
    deactivated: int
    reactivated: int = 0
    # Live accounts whose owner is now no longer in Slack: nobody is reminded of them.
    orphaned_accounts: int = 0

    def __str__(self) -> str:
        linked = f"{plural(self.linked, 'rep')} linked to Slack users"
        parts = [linked, f"{self.updated:,} refreshed"]
        if self.deactivated:
            parts.append(f"{plural(self.deactivated, 'rep')} deactivated (user deleted in Slack)")
        if self.reactivated:
            parts.append(f"{plural(self.reactivated, 'rep')} back in Slack and active again")
        line = ", ".join(parts) + "."
        if self.orphaned_accounts:
            owned = "account is" if self.orphaned_accounts == 1 else "accounts are"
            line += (
                f" {self.orphaned_accounts:,} {owned} owned by reps no longer in Slack, so "
                "nobody is reminded of them: give them a rep (`/account owner NAME EMAIL` "
                "or the accounts import)."
            )
        if self.unmatched_reps:
            shown = ", ".join(self.unmatched_reps[:UNMATCHED_SHOWN])
            more = len(self.unmatched_reps) - UNMATCHED_SHOWN
            unmatched = plural(len(self.unmatched_reps), "rep")
            line += f" No Slack user has the e-mail of {unmatched}: {shown}"
            line += f" and {more:,} more." if more > 0 else "."
        return line


def sync_reps_from(*, session: Session, users: Iterable[SlackUser], now: datetime) -> SyncResult:
    """Match reps to Slack users by e-mail; refresh time zones; note deleted users."""
    by_email = {u.email.strip().lower(): u for u in users if u.email}
    linked = updated = deactivated = reactivated = 0
    unmatched = []
    for rep in session.exec(select(Rep).order_by(Rep.email)):
        user = by_email.get(rep.email)
        if user is None:
            unmatched.append(rep.email)
            continue
        if user.deleted:
            if rep.active:
                rep.active = False
                deactivated += 1
                session.add(rep)
            continue
        if rep.slack_user_id != user.id:
            linked += 1
        else:
            updated += 1
        link_rep(
            session=session,
            email=rep.email,
            slack_user_id=user.id,
            tz=user.tz,
            name=user.name,
            now=now,
        )
        if not rep.active:
            rep.active = True
            reactivated += 1
            session.add(rep)
    session.flush()
    orphaned = unowned_accounts(session=session, shown=0).left  # owned by a rep who left
    return SyncResult(linked, updated, unmatched, deactivated, reactivated, orphaned)


def set_rep_calendar(
    *, session: Session, email: str, country: str | None, subdivision: str | None = None
) -> Rep:
    """Set the country (and optional subdivision) whose public holidays are the rep's days
    off; an empty country goes back to the workspace default (HOLIDAY_COUNTRY).
    InvalidInput names an unknown rep, country or subdivision."""
    from bot.retention.calendar import calendar_for
    from bot.retention.errors import InvalidInput

    rep = session.exec(select(Rep).where(Rep.email == email.strip().lower())).first()
    if rep is None:
        raise InvalidInput(f"No rep with e-mail {email}.")
    calendar = calendar_for(country, subdivision)
    rep.country, rep.subdivision = calendar.country, calendar.subdivision
    session.add(rep)
    session.flush()
    return rep
