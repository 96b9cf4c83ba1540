"""Posting one rep's messages: claim, post in order, record each ts, reconcile faults."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
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
from bot.delivery.plan import Covered, RepTarget, _zone
from bot.delivery.reconcile import (
    UNCERTAIN,
    Backoff,
    HistoryUnreadable,
    is_retryable,
    is_uncertain,
    posted_positions,
)
from bot.retention.due import DueAccount
from bot.runtime import Runtime
from models import ReminderMessage, ReminderRun, ReminderStatus, Rep

log = logging.getLogger(__name__)

# --- delivering -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RepOutcome:
    email: str
    status: str  # sent | empty | failed | held | skipped | lost | nothing_due
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
            return f"{self.email}: could not be reached ({self.error}); the next sweep retries"
        if self.status == "held":
            return (
                f"{self.email}: held ({self.error}): nothing is posted again until the DM's "
                "history shows what arrived; the next sweep looks again"
            )
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
    covered: Mapping[int, Covered] | None = None,
    backoff: Backoff | None = None,
) -> RepOutcome:
    """Claim, compose (once) and post one rep's reminder for `target.local_date`.

    `due`/`more` are the rep's precomputed due list and how many more are due; without
    them the list is computed here. `covered` maps accounts of away colleagues to them.
    A post that fails in a way that may have delivered it is checked against the DM's
    history before it is tried again, with bounded backoff (`backoff`); the run ends
    "held" when the history stays unreadable, "failed" when Slack stays unreachable
    (the next sweep carries on with the messages not yet delivered). Never raises.
    """
    backoff = backoff or Backoff()
    db = runtime.db
    claimed_at = runtime.now()
    if target.local_date != claimed_at.astimezone(_zone(target.tz)).date():
        return RepOutcome(target.email, "skipped", error="the rep's local day is over")
    with db.transaction() as session:
        prior = session.execute(
            sa.select(ReminderRun.status, ReminderRun.error).where(
                ReminderRun.rep_id == target.rep_id, ReminderRun.local_date == target.local_date
            )
        ).first()
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
                due,
                more=more,
                rep_name=target.name,
                monday=target.local_date.weekday() == 0,
                local_time=target.local_time,
                covered=covered,
                covering=target.covering,
                back_from=target.back_from,
                away_offer=target.away_offer,
            )
            if not drafts:
                run.status, run.finished_at, run.lease_until = (
                    ReminderStatus.EMPTY,
                    claimed_at,
                    claimed_at,
                )
                session.add(run)
                return RepOutcome(target.email, "empty")
            rows = _write_drafts(session, run, drafts, now=now)
            if target.away_offer is not None:  # offered once, with the drafts that carry it
                rep = session.get(Rep, target.rep_id)
                rep.away_offered_until = target.away_offer.last_day
                session.add(rep)
        run_id, created_at = run.id, run.created_at
        has_accounts = any(row.account_id is not None for row in rows)
        pending = [(row.id, row.position, row.text, row.blocks_json) for row in rows if not row.ts]
    # A crashed owner (still "claimed") or an uncertain failure may have posted
    # messages it could not record: look before posting anything.
    check_first = prior is not None and (
        prior.status == ReminderStatus.CLAIMED or (prior.error or "").startswith(UNCERTAIN)
    )
    post = _Poster(runtime, client, pacer, backoff, run_id, instance_id, created_at)
    try:
        post.channel = _dm_channel(runtime, client, target, pacer, backoff)
        if pending and check_first:
            found = posted_positions(
                client, post.channel, run_id=run_id, since=created_at, backoff=post.reads
            )
            pending = _record_found(runtime, post.channel, run_id, pending, found)
        for message in pending:
            post(message)
        _finish(
            runtime,
            run_id,
            instance_id,
            ReminderStatus.SENT if has_accounts else ReminderStatus.EMPTY,
        )
        return RepOutcome(target.email, "sent" if has_accounts else "empty", post.posted)
    except LostClaim:
        log.warning("reminder for %s was taken over by another instance", target.email)
        return RepOutcome(target.email, "lost", post.posted)
    except HistoryUnreadable as error:
        reason = f"{UNCERTAIN}held, DM history unreadable ({error})"
        log.warning("reminder for %s: %s", target.email, reason)
        _finish(runtime, run_id, instance_id, ReminderStatus.FAILED, reason)
        return RepOutcome(target.email, "held", post.posted, reason)
    except Exception as error:
        reason = _describe(error)
        log.warning(
            "reminder for %s (%s) failed after %d posts: %s",
            target.email,
            target.local_date,
            post.posted,
            reason,
            exc_info=not isinstance(error, SlackApiError | OSError),
        )
        if _slack_error(error) in SLACK_ERRORS_CLEARING_DM and post.channel:
            _forget_dm_channel(runtime, target.rep_id, post.channel)
        marked = f"{UNCERTAIN}{reason}" if is_uncertain(error) else reason
        _finish(runtime, run_id, instance_id, ReminderStatus.FAILED, marked)
        return RepOutcome(target.email, "failed", post.posted, reason)


class _Poster:
    """Posts one message at a time, retrying within bounds and never twice: after a
    failure that may have delivered it, the DM's history is read before trying again."""

    def __init__(self, runtime, client, pacer, backoff, run_id, instance_id, since) -> None:
        self.runtime, self.client, self.pacer, self.backoff = runtime, client, pacer, backoff
        self.run_id, self.instance_id, self.since = run_id, instance_id, since
        # History reads back off on a shorter leash: each post attempt may need one.
        self.reads = Backoff(backoff.delays[:3], backoff.sleep)
        self.channel: str | None = None
        self.posted = 0

    def __call__(self, message: tuple[int, int, str, str]) -> None:
        message_id, position, text, blocks_json = message
        channel = self.channel
        uncertain = False
        attempts = len(self.backoff.delays) + 1
        for attempt in range(attempts):
            if attempt:
                self.backoff.sleep(self.backoff.delays[attempt - 1])
            if uncertain:
                found = posted_positions(
                    self.client, channel, run_id=self.run_id, since=self.since, backoff=self.reads
                )
                if position in found:
                    self._record(message_id, channel, found[position])
                    return
            self.pacer.before_post(channel)
            # Still ours? A run taken over (this instance stalled past its lease) must
            # not post again what the new owner posts.
            if not _renew(self.runtime, self.run_id, self.instance_id):
                raise LostClaim()
            try:
                response = self.client.chat_postMessage(
                    channel=channel,
                    text=text,
                    blocks=json.loads(blocks_json),
                    metadata={
                        "event_type": REMINDER_METADATA,
                        "event_payload": {"run_id": self.run_id, "position": position},
                    },
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except Exception as error:
                if not is_retryable(error) or attempt == attempts - 1:
                    raise
                uncertain = uncertain or is_uncertain(error)
                log.info("post %s/%s to %s: %s", self.run_id, position, channel, _describe(error))
                continue
            self._record(message_id, response["channel"], response["ts"])
            return

    def _record(self, message_id: int, channel: str, ts: str) -> None:
        self.posted += 1
        if not _record_post(self.runtime, self.run_id, message_id, channel, ts, self.instance_id):
            raise LostClaim()


def _record_found(
    runtime: Runtime,
    channel: str,
    run_id: int,
    pending: list[tuple[int, int, str, str]],
    found: Mapping[int, str],
) -> list[tuple[int, int, str, str]]:
    """Record the messages an earlier attempt posted (found by their metadata); the
    rest are still to post."""
    if not found:
        return pending
    still = []
    now = runtime.now()
    with runtime.db.transaction() as session:
        for row in pending:
            message_id, position = row[0], row[1]
            if position in found:
                session.execute(
                    sa.update(ReminderMessage)
                    .where(ReminderMessage.id == message_id, ReminderMessage.ts.is_(None))
                    .values(channel=channel, ts=found[position], posted_at=now)
                    .execution_options(synchronize_session=False)
                )
            else:
                still.append(row)
    log.info("run %s: %d message(s) already in Slack, not posted again", run_id, len(found))
    return still


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


def _dm_channel(
    runtime: Runtime, client: WebClient, target: RepTarget, pacer: Pacer, backoff: Backoff
) -> str:
    """The rep's DM channel: cached on the rep, else opened once (conversations.open is
    idempotent, so it is simply retried) and cached."""
    with runtime.db.session() as session:
        cached = session.execute(
            sa.select(Rep.dm_channel_id).where(Rep.id == target.rep_id)
        ).scalar_one_or_none()
    if cached:
        return cached
    attempts = len(backoff.delays) + 1
    for attempt in range(attempts):
        if attempt:
            backoff.sleep(backoff.delays[attempt - 1])
        pacer.before_open()
        try:
            channel = client.conversations_open(users=target.slack_user_id)["channel"]["id"]
            break
        except Exception as error:
            if not is_retryable(error) or attempt == attempts - 1:
                raise
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
