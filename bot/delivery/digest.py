"""The weekly manager digest, posted once per week across instances."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.delivery.common import (
    DIGEST_METADATA,
    LEASE,
)
from bot.delivery.reconcile import describe_error, messages_with_metadata
from bot.messages.digest import weekly_digest as digest_message
from bot.runtime import Runtime
from models import DigestRun, DigestStatus

log = logging.getLogger(__name__)


def digest_week_due(runtime: Runtime, now: datetime) -> date | None:
    """The Monday of the week whose digest is due at `now`: Monday, at or after
    REMINDER_TIME in DIGEST_TIMEZONE. Like reminders, a missed Monday is not sent late."""
    local = now.astimezone(ZoneInfo(runtime.settings.digest_timezone))
    if local.weekday() != 0 or local.time() < runtime.settings.reminder_time:
        return None
    return local.date()


def claim_digest(
    session: Session, *, week_start: date, now: datetime, lease: timedelta = LEASE
) -> tuple[DigestRun, bool] | None:
    """Claim the week's digest (same rule as `claim_run`): the run and whether it was taken
    over from a failed or dead attempt, or None. The caller commits."""
    run = DigestRun(
        week_start=week_start, status=DigestStatus.CLAIMED, lease_until=now + lease, created_at=now
    )
    try:
        with session.begin_nested():
            session.add(run)
        return run, False
    except IntegrityError:
        pass
    taken = session.execute(
        sa.update(DigestRun)
        .where(
            DigestRun.week_start == week_start,
            sa.or_(
                DigestRun.status == DigestStatus.FAILED,
                sa.and_(DigestRun.status == DigestStatus.CLAIMED, DigestRun.lease_until < now),
            ),
        )
        .values(status=DigestStatus.CLAIMED, lease_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return None
    run = session.exec(
        select(DigestRun)
        .where(DigestRun.week_start == week_start)
        .execution_options(populate_existing=True)
    ).one()
    return run, True


def post_weekly_digest(
    runtime: Runtime, client: WebClient, *, now: datetime | None = None, force: bool = False
) -> str | None:
    """Post the weekly manager digest to DIGEST_CHANNEL once per ISO week, across
    instances. Returns the message ts, or None when not due, not configured, or already
    posted. `force` posts this week's digest whatever the day (still once)."""
    from bot.retention.digest import weekly_digest

    settings = runtime.settings
    channel = settings.digest_channel
    if not channel:
        return None
    now = now or runtime.now()
    local_day = now.astimezone(ZoneInfo(settings.digest_timezone)).date()
    monday = local_day - timedelta(days=local_day.weekday())
    if not force and digest_week_due(runtime, now) is None:
        return None
    with runtime.db.session() as session:
        status = session.execute(
            sa.select(DigestRun.status).where(DigestRun.week_start == monday)
        ).scalar_one_or_none()
    if status == DigestStatus.SENT:  # every tick on a Monday gets here; no write needed
        return None
    with runtime.db.transaction() as session:
        claimed = claim_digest(session, week_start=monday, now=runtime.now())
        if claimed is None:
            return None
        run, taken_over = claimed
        run_id, created_at = run.id, run.created_at
    try:
        if taken_over:  # the last attempt may have posted before it died
            found = _posted_digests(client, channel, created_at)
            if found is None:
                # Unknowable, and a manager reading the digest twice is worse than a
                # digest missed once: stop here (invite the bot to the channel so that
                # it can check next time).
                log.warning(
                    "weekly digest for the week of %s: cannot tell whether the last attempt "
                    "posted it, so it is not posted again",
                    monday,
                )
                _finish_digest(runtime, run_id, DigestStatus.UNVERIFIED)
                return None
            for payload, ts in found:
                if payload.get("week_start") == monday.isoformat():
                    _finish_digest(runtime, run_id, DigestStatus.SENT, channel=channel, ts=ts)
                    return ts
        with runtime.db.session() as session:
            digest = weekly_digest(
                session=session,
                now=now,
                as_of=local_day,
                tier_cadence=runtime.tier_cadence,
                calendars=runtime.calendars,
            )
        message = digest_message(digest)
        response = client.chat_postMessage(
            channel=channel,
            text=message["text"],
            blocks=message["blocks"],
            metadata={
                "event_type": DIGEST_METADATA,
                "event_payload": {"week_start": monday.isoformat()},
            },
            unfurl_links=False,
            unfurl_media=False,
        )
    except Exception as error:  # the next tick the same Monday tries again
        log.warning(
            "weekly digest for the week of %s failed: %s",
            monday,
            describe_error(error),
            exc_info=not isinstance(error, SlackApiError),
        )
        _finish_digest(runtime, run_id, DigestStatus.FAILED)
        return None
    _finish_digest(
        runtime, run_id, DigestStatus.SENT, channel=response["channel"], ts=response["ts"]
    )
    log.info("weekly digest for the week of %s posted to %s", monday, channel)
    return response["ts"]


def _finish_digest(
    runtime: Runtime,
    run_id: int,
    status: DigestStatus,
    *,
    channel: str | None = None,
    ts: str | None = None,
) -> None:
    now = runtime.now()
    with runtime.db.transaction() as session:
        session.execute(
            sa.update(DigestRun)
            .where(DigestRun.id == run_id)
            .values(status=status, channel=channel, ts=ts, lease_until=now)
            .execution_options(synchronize_session=False)
        )


def _posted_digests(
    client: WebClient, channel: str, since: datetime
) -> list[tuple[dict, str]] | None:
    """(payload, ts) of the digests in `channel` since `since`; None when the history
    cannot be read (a missing scope, not a member)."""
    try:
        return messages_with_metadata(client, channel, since, DIGEST_METADATA)
    except SlackApiError as error:
        log.warning("cannot check %s for earlier posts: %s", channel, describe_error(error))
        return None
