"""Posting one rep's messages: claim, post in order, record each ts, reconcile faults."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import select

from bot.delivery.claims import LostClaim, _finish, _still_ours, claim_run
from bot.delivery.common import (
    REMINDER_METADATA,
    SLACK_ERRORS_CLEARING_DM,
)
from bot.delivery.compose import _due_for, _write_drafts, compose
from bot.delivery.pacing import Pacer
from bot.delivery.plan import RepTarget, _zone
from bot.retention.due import DueAccount
from bot.runtime import Runtime
from models import ReminderMessage, Rep

log = logging.getLogger(__name__)

# --- delivering -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RepOutcome:
    email: str
    status: str  # sent | empty | failed | skipped | lost | nothing_due
    posted: int = 0
    error: str | None = None

    def __str__(self) -> str:
        if self.status == "sent":
            return f"{self.email}: {self.posted} message{'s' if self.posted != 1 else ''} sent"
        if self.status == "empty":
            return f"{self.email}: nothing due" + (
                " (all-caught-up line sent)" if self.posted else ""
            )
        if self.status == "failed":
            return f"{self.email}: failed ({self.error}); retried on the next sweep"
        if self.status == "skipped":
            return f"{self.email}: already sent today or in progress elsewhere"
        if self.status == "lost":
            return f"{self.email}: taken over by another instance"
        return f"{self.email}: nothing due"


def _describe(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        response = error.response
        code = response.get("error") if response is not None else None
        status = getattr(response, "status_code", None)
        return f"{code or 'slack_error'}" + (
            f" (HTTP {status})" if status and status != 200 else ""
        )
    return f"{type(error).__name__}: {error}"[:500]


def _slack_error(error: Exception) -> str | None:
    if isinstance(error, SlackApiError) and error.response is not None:
        return error.response.get("error")
    return None


def deliver_run(
    runtime: Runtime,
    client: WebClient,
    target: RepTarget,
    *,
    now: datetime,
    instance_id: str,
    pacer: Pacer,
    due: Sequence[DueAccount] | None = None,
    more: int = 0,
) -> RepOutcome:
    """Claim, compose (once) and post one rep's reminder for `target.local_date`.

    `due`/`more` are the rep's precomputed due list and how many more are due; without
    them the list is computed here. Any failure marks the run failed (the next sweep
    retries the messages not yet posted) and is returned, never raised.
    """
    db = runtime.db
    claimed_at = runtime.now()
    if target.local_date != claimed_at.astimezone(_zone(target.tz)).date():
        return RepOutcome(target.email, "skipped", error="the rep's local day is over")
    with db.transaction() as session:
        run = claim_run(
            session,
            rep_id=target.rep_id,
            local_date=target.local_date,
            now=claimed_at,
            instance_id=instance_id,
        )
        if run is None:
            return RepOutcome(target.email, "skipped")
        rows = list(
            session.exec(
                select(ReminderMessage)
                .where(ReminderMessage.run_id == run.id)
                .order_by(ReminderMessage.position)
            )
        )
        if not rows:
            if due is None:
                due, more = _due_for(runtime, session, target, now)
            drafts = compose(
                due, more=more, rep_name=target.name, monday=target.local_date.weekday() == 0
            )
            if not drafts:
                run.status, run.finished_at, run.lease_until = "empty", claimed_at, claimed_at
                session.add(run)
                return RepOutcome(target.email, "empty")
            rows = _write_drafts(session, run, drafts, now=now)
        run_id, attempts, created_at = run.id, run.attempts, run.created_at
        has_accounts = any(row.account_id is not None for row in rows)
        pending = [(row.id, row.position, row.text, row.blocks_json) for row in rows if not row.ts]

    posted = 0
    channel: str | None = None
    try:
        channel = _dm_channel(runtime, client, target, pacer)
        if pending and attempts > 1:
            pending = _reconcile(runtime, client, channel, run_id, created_at, pending)
        for message_id, position, text, blocks_json in pending:
            pacer.before_post(channel)
            # Still ours? A run taken over (this instance stalled past its lease) must
            # not post again what the new owner posts.
            if not _renew(runtime, run_id, instance_id):
                raise LostClaim()
            response = client.chat_postMessage(
                channel=channel,
                text=text,
                blocks=json.loads(blocks_json),
                metadata={
                    "event_type": REMINDER_METADATA,
                    "event_payload": {"run_id": run_id, "position": position},
                },
                unfurl_links=False,
                unfurl_media=False,
            )
            posted += 1
            if not _record_post(
                runtime, run_id, message_id, response["channel"], response["ts"], instance_id
            ):
                raise LostClaim()
        _finish(runtime, run_id, instance_id, "sent" if has_accounts else "empty")
        return RepOutcome(target.email, "sent" if has_accounts else "empty", posted)
    except LostClaim:
        log.warning("reminder for %s was taken over by another instance", target.email)
        return RepOutcome(target.email, "lost", posted)
    except Exception as error:
        reason = _describe(error)
        log.warning(
            "reminder for %s (%s) failed after %d posts: %s",
            target.email,
            target.local_date,
            posted,
            reason,
            exc_info=not isinstance(error, SlackApiError),
        )
        if _slack_error(error) in SLACK_ERRORS_CLEARING_DM and channel:
            _forget_dm_channel(runtime, target.rep_id, channel)
        _finish(runtime, run_id, instance_id, "failed", reason)
        return RepOutcome(target.email, "failed", posted, reason)


def _record_post(
    runtime: Runtime, run_id: int, message_id: int, channel: str, ts: str, instance_id: str
) -> bool:
    """Store where the message landed and renew the claim; False when the claim was lost."""
    now = runtime.now()
    with runtime.db.transaction() as session:
        # Never overwrite a ts another instance recorded: that message is the one
        # reactions map to.
        session.execute(
            sa.update(ReminderMessage)
            .where(ReminderMessage.id == message_id, ReminderMessage.ts.is_(None))
            .values(channel=channel, ts=ts, posted_at=now)
            .execution_options(synchronize_session=False)
        )
        return _still_ours(session, run_id, instance_id, now)


def _renew(runtime: Runtime, run_id: int, instance_id: str) -> bool:
    with runtime.db.transaction() as session:
        return _still_ours(session, run_id, instance_id, runtime.now())


def _dm_channel(runtime: Runtime, client: WebClient, target: RepTarget, pacer: Pacer) -> str:
    """The rep's DM channel: cached on the rep, else opened once and cached."""
    with runtime.db.session() as session:
        cached = session.execute(
            sa.select(Rep.dm_channel_id).where(Rep.id == target.rep_id)
        ).scalar_one_or_none()
    if cached:
        return cached
    pacer.before_open()
    channel = client.conversations_open(users=target.slack_user_id)["channel"]["id"]
    with runtime.db.transaction() as session:
        session.execute(
            sa.update(Rep)
            .where(Rep.id == target.rep_id)
            .values(dm_channel_id=channel)
            .execution_options(synchronize_session=False)
        )
    return channel


def _forget_dm_channel(runtime: Runtime, rep_id: int, channel: str) -> None:
    with runtime.db.transaction() as session:
        session.execute(
            sa.update(Rep)
            .where(Rep.id == rep_id, Rep.dm_channel_id == channel)
            .values(dm_channel_id=None)
            .execution_options(synchronize_session=False)
        )


def _posted_with_metadata(
    client: WebClient, channel: str, since: datetime, event_type: str
) -> list[tuple[dict, str]] | None:
    """(payload, ts) of our messages in `channel` since `since` that carry `event_type`
    metadata. None when the history cannot be read (a missing scope, not a member)."""
    try:
        response = client.conversations_history(
            channel=channel,
            oldest=f"{since.timestamp() - 60:.6f}",
            limit=200,
            include_all_metadata=True,
        )
    except SlackApiError as error:
        log.warning("cannot check %s for earlier posts: %s", channel, _describe(error))
        return None
    found = []
    for message in response.get("messages") or []:
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") == event_type:
            found.append((metadata.get("event_payload") or {}, message["ts"]))
    return found


def _reconcile(
    runtime: Runtime,
    client: WebClient,
    channel: str,
    run_id: int,
    since: datetime,
    pending: list[tuple[int, int, str, str]],
) -> list[tuple[int, int, str, str]]:
    """A run taken over after a crash: messages the dead owner posted but never recorded
    are found by their metadata and recorded instead of posted again."""
    found = _posted_with_metadata(client, channel, since, REMINDER_METADATA) or []
    posted = {
        payload.get("position"): ts for payload, ts in found if payload.get("run_id") == run_id
    }
    if not posted:
        return pending
    still = []
    now = runtime.now()
    with runtime.db.transaction() as session:
        for row in pending:
            message_id, position = row[0], row[1]
            if position in posted:
                session.execute(
                    sa.update(ReminderMessage)
                    .where(ReminderMessage.id == message_id)
                    .values(channel=channel, ts=posted[position], posted_at=now)
                    .execution_options(synchronize_session=False)
                )
            else:
                still.append(row)
    log.info("run %s: %d message(s) already in Slack, not posted again", run_id, len(posted))
    return still
