"""Daily reminder DMs: who is due now, the exactly-once claim, and delivery at Slack's pace.

The scheduler's sweep and `rebuy remind` share one path:

1. `reps_due_now` picks active, Slack-linked reps whose local time (their Slack time
   zone) has passed REMINDER_TIME on a working day and whose reminder for that local
   date is not finished. Only the rep's *current* local date is ever claimed, so a
   missed day is never sent late.
2. Due lists for all of them come from one `due_by_rep` call per local date.
3. Each rep is delivered on a bounded thread pool (`deliver_run`), isolated from the
   others: claim the (rep, local date) row, write every message (header + accounts)
   with its rendered blocks *before* posting, then post the rows that have no `ts` yet,
   saving each `ts` (and renewing the claim) right after its post.

Exactly once: the unique (rep_id, local_date) row is the claim. A second instance, an
overlapping sweep or a second `rebuy remind` finds it taken; a claim is only taken over
when it failed or its lease ran out (its owner died), by a conditional UPDATE that one
contender wins. The owner re-checks its claim before every post. Each message carries
Slack message metadata (run id, position), so a run taken over after a crash first
looks in the DM for messages the dead owner posted but could not record.

Pace: slack_sdk's retry handlers honour 429 Retry-After and retry 5xx and connection
errors; on top, a client-side token bucket keeps the run under the workspace rate
(SLACK_POST_RATE) and each DM under one message a second, so a large run goes at
Slack's pace instead of collecting 429s.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.clock import as_utc
from bot.retention.due import DueAccount, due_by_rep
from bot.retention.errors import InvalidInput
from bot.retention.reps import SlackUser, sync_reps_from, valid_tz
from bot.retention.tactics import record_exposure
from bot.runtime import Runtime
from bot.slack_client import make_web_client
from handlers import blocks
from models import DigestRun, ReminderMessage, ReminderRun, Rep

log = logging.getLogger(__name__)

# A claim older than this without progress belongs to a dead instance and may be taken
# over. Renewed after every post, so only a stalled owner ever loses it.
LEASE = timedelta(minutes=10)
# A run that keeps failing (a deleted user, a revoked token) stops being retried.
MAX_ATTEMPTS = 8
FINISHED = ("sent", "empty")
# Slack: about one message a second per channel, short bursts tolerated. We burst less
# than Slack allows so the per-channel limit never answers 429.
CHANNEL_PER_SEC = 1.0
CHANNEL_BURST = 2
# conversations.open is Tier 3 (50+ a minute); it runs once per rep, ever.
OPEN_PER_MINUTE = 50
REMINDER_METADATA = "rebuy_reminder"
DIGEST_METADATA = "rebuy_digest"
SLACK_ERRORS_CLEARING_DM = frozenset({"channel_not_found", "is_archived", "not_in_channel"})


def default_instance_id() -> str:
    """Who holds a claim: host, process and a random tag (unique per process start)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


# --- pace -----------------------------------------------------------------------------


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up. A caller reserves a token (the
    balance may go negative) and sleeps until its turn, so waiters are served in order
    and the long-run rate is exact. Thread-safe."""

    def __init__(
        self,
        rate: float,
        burst: float = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive (got {rate})")
        self.rate = rate
        self.capacity = max(1.0, float(burst))
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._updated = clock()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take a token; the seconds to wait before using it."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self) -> None:
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)


class Pacer:
    """Client-side pacing for one delivery run: each DM channel at about one message a
    second, the whole workspace at `post_rate`, conversations.open at its tier."""

    def __init__(
        self,
        post_rate: float,
        *,
        channel_rate: float = CHANNEL_PER_SEC,
        channel_burst: int = CHANNEL_BURST,
        open_per_minute: float = OPEN_PER_MINUTE,
    ) -> None:
        # Burst 1: Slack's own workspace bucket then always has room for network jitter.
        self.workspace = TokenBucket(post_rate, 1)
        self.opens = TokenBucket(open_per_minute / 60.0, min(10.0, open_per_minute))
        self._channel_rate = channel_rate
        self._channel_burst = channel_burst
        self._channels: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def before_post(self, channel: str) -> None:
        with self._lock:
            bucket = self._channels.get(channel)
            if bucket is None:
                bucket = TokenBucket(self._channel_rate, self._channel_burst)
                self._channels[channel] = bucket
        # The channel first: a workspace slot taken and then left idle would be wasted.
        bucket.acquire()
        self.workspace.acquire()

    def before_open(self) -> None:
        self.opens.acquire()


# --- who is due -------------------------------------------------------------------------


def _zone(tz: str | None) -> ZoneInfo:
    return ZoneInfo(valid_tz(tz) or "UTC")


def local_reminder_day(
    now: datetime, tz: str | None, reminder_time: clock_time, *, any_hour: bool = False
) -> date | None:
    """The rep's local date when their reminder is due at `now`: a working day (Mon-Fri in
    their zone) at or after `reminder_time` local time. None otherwise. `any_hour` drops
    the time-of-day rule (`rebuy remind`), never the working-day rule."""
    local = now.astimezone(_zone(tz))
    if local.weekday() >= 5:
        return None
    if not any_hour and local.time() < reminder_time:
        return None
    return local.date()


@dataclass(frozen=True)
class RepTarget:
    """A rep to remind, and the local date the reminder is for."""

    rep_id: int
    email: str
    name: str | None
    slack_user_id: str
    tz: str
    dm_channel_id: str | None
    local_date: date


@dataclass
class SweepPlan:
    targets: list[RepTarget] = field(default_factory=list)
    finished: int = 0  # today's reminder already sent (or nothing was due)
    exhausted: list[str] = field(default_factory=list)  # failed MAX_ATTEMPTS times today
    waiting: int = 0  # before REMINDER_TIME locally
    weekend: int = 0
    unlinked: list[str] = field(default_factory=list)  # no Slack user yet


def plan_sweep(
    *,
    session: Session,
    now: datetime,
    reminder_time: clock_time,
    force: bool = False,
    rep_email: str | None = None,
) -> SweepPlan:
    """Sort the active reps into: to remind now, already done today, not yet, not linked."""
    query = select(Rep).where(Rep.active).order_by(Rep.email)
    if rep_email is not None:
        email = rep_email.strip().lower()
        if not email:
            raise InvalidInput("--rep needs an e-mail address.")
        rep = session.exec(select(Rep).where(Rep.email == email)).first()
        if rep is None:
            raise InvalidInput(f"No rep with e-mail {rep_email}.")
        if not rep.active:
            raise InvalidInput(f"{email} is inactive (their Slack user was deleted).")
        query = query.where(Rep.email == email)
    reps = list(session.exec(query))
    plan = SweepPlan()
    candidates: list[RepTarget] = []
    for rep in reps:
        if not rep.slack_user_id:
            plan.unlinked.append(rep.email)
            continue
        day = local_reminder_day(now, rep.tz, reminder_time, any_hour=force)
        if day is None:
            if now.astimezone(_zone(rep.tz)).weekday() >= 5:
                plan.weekend += 1
            else:
                plan.waiting += 1
            continue
        candidates.append(
            RepTarget(
                rep_id=rep.id,
                email=rep.email,
                name=rep.name,
                slack_user_id=rep.slack_user_id,
                tz=valid_tz(rep.tz) or "UTC",
                dm_channel_id=rep.dm_channel_id,
                local_date=day,
            )
        )
    runs: dict[tuple[int, date], tuple[str, int]] = {}
    days = {target.local_date for target in candidates}
    if days:
        rows = session.execute(
            sa.select(
                ReminderRun.rep_id, ReminderRun.local_date, ReminderRun.status, ReminderRun.attempts
            ).where(ReminderRun.local_date.in_(days))
        )
        runs = {(rep_id, day): (status, attempts) for rep_id, day, status, attempts in rows}
    for target in candidates:
        status, attempts = runs.get((target.rep_id, target.local_date), (None, 0))
        if status in FINISHED:
            plan.finished += 1
        elif status == "failed" and attempts >= MAX_ATTEMPTS:
            plan.exhausted.append(target.email)
        else:
            plan.targets.append(target)
    return plan


def reps_due_now(runtime: Runtime, now: datetime | None = None) -> list[tuple[RepTarget, date]]:
    """Reps whose reminder is due at `now` and not yet done, with their local date."""
    now = now or runtime.now()
    with runtime.db.session() as session:
        plan = plan_sweep(session=session, now=now, reminder_time=runtime.settings.reminder_time)
    return [(target, target.local_date) for target in plan.targets]


# --- the claim ----------------------------------------------------------------------------


def claim_run(
    session: Session,
    *,
    rep_id: int,
    local_date: date,
    now: datetime,
    instance_id: str,
    lease: timedelta = LEASE,
) -> ReminderRun | None:
    """Claim (rep, local date) for `instance_id`, or None when someone else has it.

    A new row is the common case. An existing row is taken over only if it failed, or
    its claim's lease ran out, and it has attempts left, by one conditional UPDATE:
    of several contenders exactly one sees rowcount 1. The caller commits.
    """
    run = ReminderRun(
        rep_id=rep_id,
        local_date=local_date,
        status="claimed",
        attempts=1,
        claimed_by=instance_id,
        lease_until=now + lease,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(run)
        return run
    except IntegrityError:
        pass
    taken = session.execute(
        sa.update(ReminderRun)
        .where(
            ReminderRun.rep_id == rep_id,
            ReminderRun.local_date == local_date,
            ReminderRun.attempts < MAX_ATTEMPTS,
            sa.or_(
                ReminderRun.status == "failed",
                sa.and_(ReminderRun.status == "claimed", ReminderRun.lease_until < now),
            ),
        )
        .values(
            status="claimed",
            claimed_by=instance_id,
            lease_until=now + lease,
            attempts=ReminderRun.attempts + 1,
            error=None,
        )
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return None
    return session.exec(
        select(ReminderRun)
        .where(ReminderRun.rep_id == rep_id, ReminderRun.local_date == local_date)
        .execution_options(populate_existing=True)
    ).one()


def _still_ours(session: Session, run_id: int, instance_id: str, now: datetime) -> bool:
    """Renew the lease; False when the claim was taken over (we must stop posting)."""
    renewed = session.execute(
        sa.update(ReminderRun)
        .where(
            ReminderRun.id == run_id,
            ReminderRun.claimed_by == instance_id,
            ReminderRun.status == "claimed",
        )
        .values(lease_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    return renewed.rowcount == 1


def _finish(
    runtime: Runtime, run_id: int, instance_id: str, status: str, error: str | None = None
) -> None:
    now = runtime.now()
    with runtime.db.transaction() as session:
        session.execute(
            sa.update(ReminderRun)
            .where(
                ReminderRun.id == run_id,
                ReminderRun.claimed_by == instance_id,
                ReminderRun.status == "claimed",
            )
            .values(status=status, error=error, finished_at=now, lease_until=now)
            .execution_options(synchronize_session=False)
        )


class LostClaim(Exception):
    """Another instance took the run over; this one stops without marking it."""


# --- composing --------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    position: int
    account_id: int | None
    tactic_id: str | None
    text: str
    blocks: list[dict]


def compose(
    items: Sequence[DueAccount], *, more: int, rep_name: str | None, monday: bool
) -> list[Draft]:
    """The day's messages: a header, then one per due account (they are reacted to one by
    one). Nothing due: nothing, or a short all-caught-up line on Mondays."""
    if not items:
        if not monday:
            return []
        message = blocks.all_caught_up(rep_name=rep_name)
        return [Draft(0, None, None, message["text"], message["blocks"])]
    header = blocks.reminder_header(count=len(items), more=more, rep_name=rep_name)
    drafts = [Draft(0, None, None, header["text"], header["blocks"])]
    for position, item in enumerate(items, start=1):
        message = blocks.reminder_account(item)
        tactic_id = item.tactic.id if item.tactic else None
        drafts.append(
            Draft(position, item.account_id, tactic_id, message["text"], message["blocks"])
        )
    return drafts


def _write_drafts(
    session: Session, run: ReminderRun, drafts: Sequence[Draft], *, now: datetime
) -> list[ReminderMessage]:
    rows = [
        ReminderMessage(
            run_id=run.id,
            position=draft.position,
            account_id=draft.account_id,
            tactic_id=draft.tactic_id,
            text=draft.text,
            blocks_json=json.dumps(draft.blocks, ensure_ascii=False),
        )
        for draft in drafts
    ]
    session.add_all(rows)
    for draft in drafts:
        if draft.account_id is not None and draft.tactic_id:
            record_exposure(
                session=session,
                account_id=draft.account_id,
                tactic_ids=[draft.tactic_id],
                now=now,
                surface="reminder",
            )
    session.flush()
    return rows


def _due_for(runtime: Runtime, session: Session, target: RepTarget, now: datetime):
    counts: dict[int, int] = {}
    due = due_by_rep(
        session=session,
        as_of=target.local_date,
        now=now,
        tier_cadence=runtime.tier_cadence,
        limit=runtime.settings.reminder_max_per_day,
        owner_ids=[target.rep_id],
        due_counts=counts,
    )
    items = due.get(target.rep_id, [])
    return items, counts.get(target.rep_id, len(items)) - len(items)


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


# --- the sweep ------------------------------------------------------------------------------


@dataclass
class SweepResult:
    outcomes: list[RepOutcome] = field(default_factory=list)
    plan: SweepPlan = field(default_factory=SweepPlan)
    nothing_due: int = 0
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def sent(self) -> int:
        return self.count("sent")

    @property
    def failed(self) -> int:
        return self.count("failed")

    @property
    def messages(self) -> int:
        return sum(outcome.posted for outcome in self.outcomes)

    def log_line(self) -> str:
        counts = Counter(outcome.status for outcome in self.outcomes)
        return (
            f"{counts['sent']} reps sent ({self.messages} messages), {counts['empty']} empty, "
            f"{counts['failed']} failed, "
            f"{counts['skipped'] + counts['lost'] + self.plan.finished} skipped "
            f"(done or in progress), {self.plan.waiting + self.plan.weekend} not yet due, "
            f"in {self.seconds:.1f} s"
        )

    def __str__(self) -> str:
        """The summary `rebuy remind` prints."""
        plan, parts = self.plan, []
        if self.sent:
            parts.append(
                f"Sent today's reminders to {_reps(self.sent)} ({self.messages} messages)."
            )
        else:
            parts.append("No reminders sent.")
        if self.nothing_due or self.count("empty"):
            parts.append(f"{_reps(self.nothing_due + self.count('empty'))}: nothing due.")
        done = plan.finished + self.count("skipped") + self.count("lost")
        if done:
            parts.append(
                f"{_reps(done)} already had today's reminder (or it is being sent): "
                "nothing sent again."
            )
        failed = [o for o in self.outcomes if o.status == "failed"]
        if failed:
            listed = "; ".join(f"{o.email} ({o.error})" for o in failed[:10])
            parts.append(f"Failed for {_reps(len(failed))}: {listed}. The next sweep retries.")
        if plan.exhausted:
            parts.append(
                f"Gave up for today on {_reps(len(plan.exhausted))} after {MAX_ATTEMPTS} "
                f"attempts: {', '.join(plan.exhausted[:10])}."
            )
        if plan.weekend:
            parts.append(f"{_reps(plan.weekend)}: weekend in their time zone.")
        if plan.waiting:
            parts.append(f"{_reps(plan.waiting)}: not yet REMINDER_TIME in their time zone.")
        if plan.unlinked:
            parts.append(
                f"{_reps(len(plan.unlinked))} not linked to a Slack user (run `rebuy reps "
                f"sync`): {', '.join(plan.unlinked[:10])}."
            )
        return " ".join(parts)


def _reps(count: int) -> str:
    return f"{count} rep{'s' if count != 1 else ''}"


def _due_lists(
    runtime: Runtime, targets: Sequence[RepTarget], now: datetime
) -> tuple[dict[int, list[DueAccount]], dict[int, int]]:
    """Every target's due list, one `due_by_rep` call per local date; and how many more
    each rep has due beyond the daily maximum."""
    by_day: dict[date, list[int]] = defaultdict(list)
    for target in targets:
        by_day[target.local_date].append(target.rep_id)
    due: dict[int, list[DueAccount]] = {}
    more: dict[int, int] = {}
    with runtime.db.session() as session:
        for day, rep_ids in by_day.items():
            counts: dict[int, int] = {}
            due.update(
                due_by_rep(
                    session=session,
                    as_of=day,
                    now=now,
                    tier_cadence=runtime.tier_cadence,
                    limit=runtime.settings.reminder_max_per_day,
                    owner_ids=rep_ids,
                    due_counts=counts,
                )
            )
            for rep_id, total in counts.items():
                more[rep_id] = total - len(due.get(rep_id, []))
    return due, more


def run_sweep(
    runtime: Runtime,
    client: WebClient,
    *,
    force: bool = False,
    rep_email: str | None = None,
    instance_id: str | None = None,
    pacer: Pacer | None = None,
    echo: Callable[[str], None] | None = None,
) -> SweepResult:
    """Remind every rep who is due now, each in isolation, `delivery_concurrency` at once.

    `force` (`rebuy remind`) ignores the hour and only takes reps with accounts due;
    the claim still holds, so a second run the same day sends nothing. `echo` receives a
    line per rep as it finishes.
    """
    started = time.perf_counter()
    now = runtime.now()
    instance_id = instance_id or default_instance_id()
    settings = runtime.settings
    with runtime.db.session() as session:
        plan = plan_sweep(
            session=session,
            now=now,
            reminder_time=settings.reminder_time,
            force=force,
            rep_email=rep_email,
        )
    result = SweepResult(plan=plan)
    targets = plan.targets
    due, more = _due_lists(runtime, targets, now) if targets else ({}, {})
    if force:
        result.nothing_due = sum(1 for target in targets if not due.get(target.rep_id))
        targets = [target for target in targets if due.get(target.rep_id)]
    pacer = pacer or Pacer(settings.slack_post_rate)

    def deliver(target: RepTarget) -> RepOutcome:
        try:
            return deliver_run(
                runtime,
                client,
                target,
                now=now,
                instance_id=instance_id,
                pacer=pacer,
                due=due.get(target.rep_id, []),
                more=more.get(target.rep_id, 0),
            )
        except Exception as error:  # one rep's trouble (even the database) never stops others
            log.exception("reminder for %s failed before delivery", target.email)
            return RepOutcome(target.email, "failed", error=_describe(error))

    if targets:
        workers = max(1, min(settings.delivery_concurrency, len(targets)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rebuy-remind") as pool:
            futures = [pool.submit(deliver, target) for target in targets]
            for future in as_completed(futures):
                outcome = future.result()
                result.outcomes.append(outcome)
                if echo is not None:
                    echo(str(outcome))
    result.seconds = time.perf_counter() - started
    return result


# --- the command line -------------------------------------------------------------------------


def _require_token(runtime: Runtime, why: str) -> None:
    if not runtime.settings.slack_bot_token:
        raise InvalidInput(f"SLACK_BOT_TOKEN is not set: {why}")


def send_reminders_now(
    runtime: Runtime,
    *,
    rep_email: str | None = None,
    echo: Callable[[str], None] = print,
    client: WebClient | None = None,
    dry_run: bool = False,
) -> str:
    """`rebuy remind`: today's reminders now, whatever the hour, for every rep with accounts
    due (or just `rep_email`). A second run the same day sends nothing. With `dry_run`,
    print the messages instead: no claim, no Slack."""
    if dry_run:
        return preview_reminders(runtime, rep_email=rep_email, echo=echo)
    _require_token(
        runtime,
        "reminders are sent as the Rebuy bot. Use `rebuy remind --dry-run` to see them "
        "without Slack.",
    )
    client = client or make_web_client(runtime.settings, only_rate_limits=True)
    result = run_sweep(
        runtime,
        client,
        force=True,
        rep_email=rep_email,
        instance_id=f"cli:{default_instance_id()}",
        echo=echo,
    )
    return str(result)


def preview_reminders(
    runtime: Runtime, *, rep_email: str | None = None, echo: Callable[[str], None] = print
) -> str:
    """Print what `rebuy remind` would send to each rep, message by message."""
    now = runtime.now()
    with runtime.db.session() as session:
        plan = plan_sweep(
            session=session,
            now=now,
            reminder_time=runtime.settings.reminder_time,
            force=True,
            rep_email=rep_email,
        )
    due, more = _due_lists(runtime, plan.targets, now) if plan.targets else ({}, {})
    shown = 0
    for target in plan.targets:
        items = due.get(target.rep_id, [])
        if not items:
            continue
        drafts = compose(
            items,
            more=more.get(target.rep_id, 0),
            rep_name=target.name,
            monday=target.local_date.weekday() == 0,
        )
        shown += 1
        echo(f"── To {target.email} (<@{target.slack_user_id}>, {target.local_date}) ──")
        for draft in drafts:
            echo(message_preview(draft.blocks))
            echo("")
    result = SweepResult(plan=plan, nothing_due=len(plan.targets) - shown)
    summary = str(result).replace("No reminders sent.", "")
    return f"Dry run: nothing sent. Would remind {_reps(shown)}. {summary}".strip()


def message_preview(message_blocks: Iterable[dict]) -> str:
    """A message's blocks as plain lines (sections, context, buttons)."""
    lines = []
    for block in message_blocks:
        kind = block.get("type")
        if kind in ("section", "header") and block.get("text"):
            lines.append(block["text"]["text"])
        elif kind == "context":
            lines.append("  ".join(element.get("text", "") for element in block["elements"]))
        elif kind == "actions":
            labels = [element["text"]["text"] for element in block["elements"] if "text" in element]
            lines.append("  ".join(f"[{label}]" for label in labels))
    return "\n".join(lines)


# --- reps and their time zones ------------------------------------------------------------


def slack_users(client: WebClient, *, page_size: int = 200) -> list[SlackUser]:
    """Every human member of the workspace (users.list, paginated)."""
    users = []
    for page in client.users_list(limit=page_size):
        for member in page.get("members") or []:
            if member.get("is_bot") or member.get("id") == "USLACKBOT":
                continue
            profile = member.get("profile") or {}
            users.append(
                SlackUser(
                    id=member["id"],
                    email=profile.get("email"),
                    tz=member.get("tz"),
                    name=member.get("real_name") or profile.get("real_name"),
                    deleted=bool(member.get("deleted")),
                )
            )
    return users


def sync_reps(runtime: Runtime, client: WebClient | None = None) -> str:
    """`rebuy reps sync`: link reps to Slack users by e-mail and refresh their time zones."""
    if client is None:
        _require_token(runtime, "`rebuy reps sync` reads the workspace's users as the bot.")
        client = make_web_client(runtime.settings)
    users = slack_users(client)
    with runtime.db.transaction() as session:
        result = sync_reps_from(session=session, users=users, now=runtime.now())
    return str(result)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def reps_synced_at(runtime: Runtime) -> datetime | None:
    """When time zones were last refreshed for every linked rep (the oldest sync among
    them: linking one new user through /account must not postpone everyone's refresh)."""
    with runtime.db.session() as session:
        value = session.execute(
            sa.select(sa.func.min(sa.func.coalesce(Rep.tz_synced_at, EPOCH))).where(
                Rep.active.is_(True), Rep.slack_user_id.is_not(None)
            )
        ).scalar_one_or_none()
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value)


# --- the weekly digest -------------------------------------------------------------------------


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
        week_start=week_start, status="claimed", lease_until=now + lease, created_at=now
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
                DigestRun.status == "failed",
                sa.and_(DigestRun.status == "claimed", DigestRun.lease_until < now),
            ),
        )
        .values(status="claimed", lease_until=now + lease)
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
    if status == "sent":  # every tick on a Monday gets here; no write needed
        return None
    with runtime.db.transaction() as session:
        claimed = claim_digest(session, week_start=monday, now=runtime.now())
        if claimed is None:
            return None
        run, taken_over = claimed
        run_id, created_at = run.id, run.created_at
    try:
        if taken_over:  # the last attempt may have posted before it died
            found = _posted_with_metadata(client, channel, created_at, DIGEST_METADATA)
            if found is None:
                # Unknowable, and a manager reading the digest twice is worse than a
                # digest missed once: stop here (invite the bot to the channel so that
                # it can check next time).
                log.warning(
                    "weekly digest for the week of %s: cannot tell whether the last attempt "
                    "posted it, so it is not posted again",
                    monday,
                )
                _finish_digest(runtime, run_id, "unverified")
                return None
            for payload, ts in found:
                if payload.get("week_start") == monday.isoformat():
                    _finish_digest(runtime, run_id, "sent", channel=channel, ts=ts)
                    return ts
        with runtime.db.session() as session:
            digest = weekly_digest(
                session=session, now=now, as_of=local_day, tier_cadence=runtime.tier_cadence
            )
        message = blocks.weekly_digest(digest)
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
            _describe(error),
            exc_info=not isinstance(error, SlackApiError),
        )
        _finish_digest(runtime, run_id, "failed")
        return None
    _finish_digest(runtime, run_id, "sent", channel=response["channel"], ts=response["ts"])
    log.info("weekly digest for the week of %s posted to %s", monday, channel)
    return response["ts"]


def _finish_digest(
    runtime: Runtime, run_id: int, status: str, *, channel: str | None = None, ts: str | None = None
) -> None:
    now = runtime.now()
    with runtime.db.transaction() as session:
        session.execute(
            sa.update(DigestRun)
            .where(DigestRun.id == run_id)
            .values(status=status, channel=channel, ts=ts, lease_until=now)
            .execution_options(synchronize_session=False)
        )
