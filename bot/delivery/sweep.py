"""One sweep over every due rep, each isolated, a bounded number at once."""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime

from slack_sdk import WebClient

from bot.delivery.common import (
    MAX_ATTEMPTS,
    default_instance_id,
)
from bot.delivery.deliver import Outcome, RepOutcome, deliver_run
from bot.delivery.pacing import Pacer
from bot.delivery.plan import Covered, RepTarget, SweepPlan, plan_sweep
from bot.delivery.reconcile import Backoff, describe_error
from bot.delivery.slack_users import refresh_statuses
from bot.retention.due import DueAccount, due_by_rep
from bot.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class SweepResult:
    outcomes: list[RepOutcome] = field(default_factory=list)
    plan: SweepPlan = field(default_factory=SweepPlan)
    nothing_due: int = 0
    seconds: float = 0.0

    def count(self, status: Outcome) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def sent(self) -> int:
        return self.count(Outcome.SENT)

    @property
    def failed(self) -> int:
        return self.count(Outcome.FAILED)

    @property
    def complete(self) -> bool:
        """Every rep due in this run got their whole set (or was already done)."""
        unfinished = {Outcome.FAILED, Outcome.HELD}
        return not self.plan.exhausted and not any(o.status in unfinished for o in self.outcomes)

    @property
    def messages(self) -> int:
        return sum(outcome.posted for outcome in self.outcomes)

    def log_line(self) -> str:
        counts = Counter(outcome.status for outcome in self.outcomes)
        return (
            f"{counts['sent']} reps sent ({self.messages} messages), {counts['empty']} empty, "
            f"{counts['failed']} failed, "
            f"{counts['skipped'] + counts['lost'] + self.plan.finished} skipped "
            f"(done or in progress), {self.plan.waiting} not yet due, "
            f"{len(self.plan.missed)} past the cut-off, {self.plan.weekend} weekend, "
            f"{len(self.plan.holiday)} holiday, {len(self.plan.away)} away, "
            f"in {self.seconds:.1f} s"
        )

    def __str__(self) -> str:
        """The summary `rebuy remind` prints."""
        return " ".join([*self._delivery_parts(), *_plan_parts(self.plan)])

    def _delivery_parts(self) -> list[str]:
        """What this run did: sent, nothing due, already done, failed, held, given up."""
        plan, parts = self.plan, []
        if self.sent:
            parts.append(
                f"Sent today's reminders to {reps_text(self.sent)} "
                f"({self.messages} message{'s' if self.messages != 1 else ''})."
            )
        else:
            parts.append("No reminders sent.")
        if self.nothing_due or self.count(Outcome.EMPTY):
            parts.append(f"{reps_text(self.nothing_due + self.count(Outcome.EMPTY))}: nothing due.")
        done = plan.finished + self.count(Outcome.SKIPPED) + self.count(Outcome.LOST)
        if done:
            parts.append(
                f"{reps_text(done)} already had today's reminder (or it is being sent): "
                "nothing sent again."
            )
        failed = [o for o in self.outcomes if o.status == Outcome.FAILED]
        if failed:
            listed = "; ".join(f"{o.email} ({o.error})" for o in failed[:10])
            parts.append(
                f"Could not reach {reps_text(len(failed))} after retries: {listed}. "
                "The next sweep retries the messages not yet delivered."
            )
        held = [o for o in self.outcomes if o.status == Outcome.HELD]
        if held:
            listed = ", ".join(o.email for o in held[:10])
            parts.append(
                f"Held the reminders of {reps_text(len(held))} (their DM history could not "
                f"be read, so nothing is posted blindly): {listed}. The next sweep looks again."
            )
        if plan.exhausted:
            parts.append(
                f"Gave up for today on {reps_text(len(plan.exhausted))} after {MAX_ATTEMPTS} "
                f"attempts: {', '.join(plan.exhausted[:10])}."
            )
        return parts


def _plan_parts(plan: SweepPlan) -> list[str]:
    """Who was not due in this run, and why: weekend, holiday, away, time of day, unlinked."""
    parts = []
    if plan.weekend:
        parts.append(f"{reps_text(plan.weekend)}: weekend in their time zone.")
    if plan.holiday:
        parts.append(f"Public holiday for {', '.join(plan.holiday[:10])}.")
    if plan.away:
        parts.append(f"Away today: {', '.join(plan.away[:10])}.")
    if plan.uncovered:
        parts.append(
            f"Away without an active cover (their accounts wait): {', '.join(plan.uncovered[:10])}."
        )
    if plan.waiting:
        parts.append(f"{reps_text(plan.waiting)}: not yet REMINDER_TIME in their time zone.")
    if plan.missed:
        parts.append(
            f"{reps_text(len(plan.missed))} past REMINDER_CUTOFF in their time zone (today's "
            f"reminder is skipped, never sent late): {', '.join(plan.missed[:10])}."
        )
    if plan.unlinked:
        parts.append(
            f"{reps_text(len(plan.unlinked))} not linked to a Slack user (run `rebuy reps "
            f"sync`): {', '.join(plan.unlinked[:10])}."
        )
    return parts


def reps_text(count: int) -> str:
    """ "1 rep", "3 reps"."""
    return f"{count} rep{'s' if count != 1 else ''}"


@dataclass
class DueLists:
    """Each target's messages-to-be: its due accounts (covered colleagues' merged in,
    ranked, capped at the daily maximum), how many more are due, and which accounts are
    covered for whom."""

    due: dict[int, list[DueAccount]] = field(default_factory=dict)
    more: dict[int, int] = field(default_factory=dict)
    covered: dict[int, dict[int, Covered]] = field(default_factory=dict)


def due_lists(runtime: Runtime, targets: Sequence[RepTarget], now: datetime) -> DueLists:
    """Every target's due list, one `due_by_rep` call per local date."""
    limit = runtime.settings.reminder_max_per_day
    by_day: dict[date, set[int]] = defaultdict(set)
    for target in targets:
        by_day[target.local_date].add(target.rep_id)
        by_day[target.local_date].update(c.rep_id for c in target.covering)
    lists = DueLists()
    with runtime.db.session() as session:
        for day, rep_ids in by_day.items():
            counts: dict[int, int] = {}
            due = due_by_rep(
                session=session,
                as_of=day,
                now=now,
                tier_cadence=runtime.tier_cadence,
                calendars=runtime.calendars,
                limit=limit,
                owner_ids=sorted(rep_ids),
                due_counts=counts,
            )
            for target in (t for t in targets if t.local_date == day):
                items = list(due.get(target.rep_id, []))
                total = counts.get(target.rep_id, 0)
                covered: dict[int, Covered] = {}
                for colleague in target.covering:
                    theirs = due.get(colleague.rep_id, [])
                    covered.update({item.account_id: colleague for item in theirs})
                    items.extend(theirs)
                    total += counts.get(colleague.rep_id, 0)
                items.sort(key=lambda item: item.urgency_key)
                items = items[:limit]
                lists.due[target.rep_id] = items
                lists.more[target.rep_id] = total - len(items)
                shown = {item.account_id for item in items}
                lists.covered[target.rep_id] = {
                    account_id: who for account_id, who in covered.items() if account_id in shown
                }
    return lists


def run_sweep(
    runtime: Runtime,
    client: WebClient,
    *,
    force: bool = False,
    rep_email: str | None = None,
    instance_id: str | None = None,
    pacer: Pacer | None = None,
    echo: Callable[[str], None] | None = None,
    backoff: Backoff | None = None,
) -> SweepResult:
    """Remind every rep who is due now, each in isolation, `delivery_concurrency` at once.

    `force` (`rebuy remind`) only takes reps with accounts due (no all-caught-up line);
    the window, the calendar and the claim hold as in the scheduler's sweep, so a second
    run the same day sends nothing and no run sends at night. `echo` receives a
    line per rep as it finishes.
    """
    started = time.perf_counter()
    now = runtime.now()
    instance_id = instance_id or default_instance_id()
    settings = runtime.settings
    with runtime.db.session() as session:
        plan = plan_sweep(session=session, now=now, settings=settings, rep_email=rep_email)
    # Reps to remind: read Slack statuses (away?) when stale, and plan with them.
    if plan.targets and refresh_statuses(runtime, client):
        with runtime.db.session() as session:
            plan = plan_sweep(session=session, now=now, settings=settings, rep_email=rep_email)
    result = SweepResult(plan=plan)
    targets = plan.targets
    lists = due_lists(runtime, targets, now) if targets else DueLists()
    if force:
        result.nothing_due = sum(1 for target in targets if not lists.due.get(target.rep_id))
        targets = [target for target in targets if lists.due.get(target.rep_id)]
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
                due=lists.due.get(target.rep_id, []),
                more=lists.more.get(target.rep_id, 0),
                covered=lists.covered.get(target.rep_id, {}),
                backoff=backoff,
            )
        except Exception as error:  # one rep's trouble (even the database) never stops others
            log.exception("reminder for %s failed before delivery", target.email)
            return RepOutcome(target.email, Outcome.FAILED, error=describe_error(error))

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
