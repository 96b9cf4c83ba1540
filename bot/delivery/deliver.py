"""One rep's reminder run: claim it, compose its messages once, post them in order
(`post`), finish it; faults are reconciled against the DM's history (`reconcile`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import select

from bot.delivery.claims import LostClaim, claim_run, finish_run
from bot.delivery.common import SLACK_ERRORS_CLEARING_DM
from bot.delivery.compose import compose, due_for, write_drafts
from bot.delivery.pacing import Pacer
from bot.delivery.plan import Covered, RepTarget, rep_zone
from bot.delivery.post import Poster, record_found
from bot.delivery.reconcile import (
    UNCERTAIN,
    Backoff,
    HistoryUnreadable,
    describe_error,
    is_retryable,
    is_uncertain,
    posted_positions,
)
from bot.retention.due import DueAccount
from bot.runtime import Runtime
from models import ReminderMessage, ReminderRun, ReminderStatus, Rep

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    """How one rep's reminder run ended in this sweep."""

    SENT = "sent"  # every message posted
    EMPTY = "empty"  # nothing due (perhaps an all-caught-up line)
    FAILED = "failed"  # Slack stayed unreachable: the next sweep retries
    HELD = "held"  # the DM's history stayed unreadable: nothing posted blindly
    SKIPPED = "skipped"  # done today, in progress elsewhere, or the rep's day is over
    LOST = "lost"  # another instance took the claim over


@dataclass(frozen=True)
class RepOutcome:
    email: str
    status: Outcome
    posted: int = 0
    error: str | None = None

    def __str__(self) -> str:
        if self.status == Outcome.SENT:
            return f"{self.email}: {self.posted} message{'s' if self.posted != 1 else ''} sent"
        if self.status == Outcome.EMPTY:
            return f"{self.email}: nothing due" + (
                " (all-caught-up line sent)" if self.posted else ""
            )
        if self.status == Outcome.FAILED:
            return f"{self.email}: could not be reached ({self.error}); the next sweep retries"
        if self.status == Outcome.HELD:
            return (
                f"{self.email}: held ({self.error}): nothing is posted again until the DM's "
                "history shows what arrived; the next sweep looks again"
            )
        if self.status == Outcome.SKIPPED:
            return f"{self.email}: already sent today or in progress elsewhere"
        return f"{self.email}: taken over by another instance"


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
    claimed_at = runtime.now()
    if target.local_date != claimed_at.astimezone(rep_zone(target.tz)).date():
        return RepOutcome(target.email, Outcome.SKIPPED, error="the rep's local day is over")
    claimed = _claim_and_compose(
        runtime,
        target,
        now=now,
        claimed_at=claimed_at,
        instance_id=instance_id,
        due=due,
        more=more,
        covered=covered,
    )
    if isinstance(claimed, RepOutcome):
        return claimed
    return _post_run(runtime, client, target, claimed, instance_id, pacer, backoff)


@dataclass(frozen=True)
class _Claimed:
    """A claimed run with its messages written: what is left to post."""

    run_id: int
    created_at: datetime
    has_accounts: bool
    pending: list[tuple[int, int, str, str]]  # (id, position, text, blocks_json)
    check_first: bool  # an earlier attempt may have posted messages it did not record


def _claim_and_compose(
    runtime: Runtime,
    target: RepTarget,
    *,
    now: datetime,
    claimed_at: datetime,
    instance_id: str,
    due: Sequence[DueAccount] | None,
    more: int,
    covered: Mapping[int, Covered] | None,
) -> _Claimed | RepOutcome:
    """Claim the run and write its messages (composed once, on the first attempt), in
    one transaction; a RepOutcome when there is nothing to post."""
    with runtime.db.transaction() as session:
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
            return RepOutcome(target.email, Outcome.SKIPPED)
        rows = list(
            session.exec(
                select(ReminderMessage)
                .where(ReminderMessage.run_id == run.id)
                .order_by(ReminderMessage.position)
            )
        )
        if not rows:
            if due is None:
                due, more = due_for(runtime, session, target, now)
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
                run.status = ReminderStatus.EMPTY
                run.finished_at = run.lease_until = claimed_at
                session.add(run)
                return RepOutcome(target.email, Outcome.EMPTY)
            rows = write_drafts(session, run, drafts, now=now)
            if target.away_offer is not None:  # offered once, with the drafts that carry it
                rep = session.get(Rep, target.rep_id)
                rep.away_offered_until = target.away_offer.last_day
                session.add(rep)
        # A crashed owner (still "claimed") or an uncertain failure may have posted
        # messages it could not record: look before posting anything.
        check_first = prior is not None and (
            prior.status == ReminderStatus.CLAIMED or (prior.error or "").startswith(UNCERTAIN)
        )
        return _Claimed(
            run_id=run.id,
            created_at=run.created_at,
            has_accounts=any(row.account_id is not None for row in rows),
            pending=[
                (row.id, row.position, row.text, row.blocks_json) for row in rows if not row.ts
            ],
            check_first=check_first,
        )


def _post_run(
    runtime: Runtime,
    client: WebClient,
    target: RepTarget,
    claimed: _Claimed,
    instance_id: str,
    pacer: Pacer,
    backoff: Backoff,
) -> RepOutcome:
    """Post the run's pending messages and finish the run; never raises."""
    run_id, pending = claimed.run_id, claimed.pending
    post = Poster(runtime, client, pacer, backoff, run_id, instance_id, claimed.created_at)
    try:
        post.channel = _dm_channel(runtime, client, target, pacer, backoff)
        if pending and claimed.check_first:
            found = posted_positions(
                client, post.channel, run_id=run_id, since=claimed.created_at, backoff=post.reads
            )
            pending = record_found(runtime, post.channel, run_id, pending, found)
        for message in pending:
            post(message)
        status = ReminderStatus.SENT if claimed.has_accounts else ReminderStatus.EMPTY
        finish_run(runtime, run_id, instance_id, status)
        outcome = Outcome.SENT if claimed.has_accounts else Outcome.EMPTY
        return RepOutcome(target.email, outcome, post.posted)
    except LostClaim:
        log.warning("reminder for %s was taken over by another instance", target.email)
        return RepOutcome(target.email, Outcome.LOST, post.posted)
    except HistoryUnreadable as error:
        reason = f"{UNCERTAIN}held, DM history unreadable ({error})"
        log.warning("reminder for %s: %s", target.email, reason)
        finish_run(runtime, run_id, instance_id, ReminderStatus.FAILED, reason)
        return RepOutcome(target.email, Outcome.HELD, post.posted, reason)
    except Exception as error:
        reason = describe_error(error)
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
        finish_run(runtime, run_id, instance_id, ReminderStatus.FAILED, marked)
        return RepOutcome(target.email, Outcome.FAILED, post.posted, reason)


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
