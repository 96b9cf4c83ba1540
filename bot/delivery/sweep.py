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
from bot.delivery.deliver import RepOutcome, _describe, deliver_run
from bot.delivery.pacing import Pacer
from bot.delivery.plan import RepTarget, SweepPlan, plan_sweep
from bot.retention.due import DueAccount, due_by_rep
from bot.runtime import Runtime

log = logging.getLogger(__name__)

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
