"""The jobs `rebuy serve` runs next to the Slack app: the reminder sweep and the weekly digest.

APScheduler only says *when* to look; *what* to send and whether it was sent lives in
our tables (ReminderRun, DigestRun), claimed exactly once by unique keys. So the job
store is memory only, several instances may run the same jobs against one database,
and a restart simply looks again: nothing is pickled, nothing is lost.

- "reminder-sweep" runs every 5 minutes (the first soon after start) and reminds every
  rep whose local REMINDER_TIME has passed on a working day and who has not had today's
  reminder. Once a day it also refreshes reps' time zones from users.list.
- "upkeep" runs soon after start and then hourly: it moves the purchase summary's
  windows to today (bot/retention/summary_roll.py; a card then reads no orders at the
  window edges), computes the day's RFM cut points before the first rep asks for a card
  (so no card waits for a workspace scan) and forgets Events API ids older than a week
  (Slack retries within minutes).
- "weekly-digest" runs every 5 minutes on Mondays (in DIGEST_TIMEZONE, default UTC)
  from REMINDER_TIME on, and posts the digest to DIGEST_CHANNEL once per week. A digest
  missed all Monday is not posted later in the week, like a reminder.

In `rebuy serve` the scheduler runs in a process of its own (`SchedulerProcess`,
multiprocessing "spawn"): the sweep's due lists and the day's RFM cut points are CPU
work, and in the HTTP process they would take the GIL from the threads that must ack
Slack within 3 seconds. The child builds its own runtime from the settings it is given.

Job defaults are set deliberately: `coalesce` folds a backlog of missed runs into one,
`max_instances=1` never overlaps a sweep with itself (a slow sweep makes the next one
skip, and the one after picks up the rest), and `misfire_grace_time` lets a run that is
late by up to 5 minutes (a busy process, a suspended laptop) still happen.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk import WebClient

from bot.reminders import (
    SweepResult,
    default_instance_id,
    post_weekly_digest,
    reps_synced_at,
    run_sweep,
    sync_reps,
)
from bot.retention.rfm import warm_cutoffs, warm_cutoffs_after_writing
from bot.retention.summary_roll import roll_windows
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings
from bot.slack_client import make_web_client
from models import SlackEvent

log = logging.getLogger(__name__)

SWEEP_JOB_ID = "reminder-sweep"
DIGEST_JOB_ID = "weekly-digest"
UPKEEP_JOB_ID = "upkeep"
MODEL_FIT_JOB_ID = "rebuy-model-fit"
MODEL_REFIT_JOB_ID = "rebuy-model-refit"
# How often `rebuy serve` checks whether an import or sync moved the data cut-off past
# the newest fit (a cheap query; the refit runs here, never in a request).
REFIT_CHECK_MINUTES = 15
EVENT_IDS_KEPT = timedelta(days=7)
SWEEP_MINUTES = 5
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
# Time zones change rarely (travel, DST is in the zone itself): refresh once a day, and
# after a failed users.list wait an hour before trying again.
TZ_REFRESH_EVERY = timedelta(hours=24)
TZ_RETRY_AFTER = timedelta(hours=1)


class ReminderJobs:
    """The scheduled work of one process; holds nothing that must survive a restart."""

    def __init__(self, runtime: Runtime, client: WebClient, *, instance_id: str | None = None):
        self.runtime = runtime
        self.client = client
        self.instance_id = instance_id or default_instance_id()
        self._last_sync_attempt: datetime | None = None

    def sweep(self) -> SweepResult:
        """One reminder sweep; logs a line with reps sent, failed and skipped."""
        self.refresh_time_zones()
        result = run_sweep(self.runtime, self.client, instance_id=self.instance_id)
        log.info("reminder sweep: %s", result.log_line())
        return result

    def refresh_time_zones(self) -> bool:
        """users.list -> reps' Slack ids and time zones, when the last sync is a day old."""
        now = self.runtime.now()
        synced = reps_synced_at(self.runtime)
        if synced is not None and now - synced < TZ_REFRESH_EVERY:
            return False
        if self._last_sync_attempt is not None and now - self._last_sync_attempt < TZ_RETRY_AFTER:
            return False
        self._last_sync_attempt = now
        try:
            log.info("reps synced from Slack: %s", sync_reps(self.runtime, self.client))
        except Exception as error:  # stale zones are better than no reminders
            log.warning("could not refresh reps from users.list: %s", error)
            return False
        return True

    def digest(self) -> str | None:
        return post_weekly_digest(self.runtime, self.client)

    def upkeep(self) -> int:
        """Move the purchase summary's windows to today (the day's cards, due lists and
        reports then read them as stored), warm today's RFM cut points, drop old event
        ids. Returns event ids dropped."""
        now = self.runtime.now()
        try:
            roll_windows(self.runtime.db, today=now.astimezone(UTC).date())
        except Exception as error:  # reads move the windows themselves meanwhile
            log.warning("could not move the purchase summaries to today: %s", error)
        warm_cutoffs(self.runtime.db, now=now)
        with self.runtime.db.transaction() as session:
            dropped = session.execute(
                sa.delete(SlackEvent).where(SlackEvent.received_at < now - EVENT_IDS_KEPT)
            ).rowcount
        if dropped:
            log.info("forgot %d Events API ids older than a week", dropped)
        return dropped


def add_jobs(scheduler: BackgroundScheduler, jobs: ReminderJobs, *, first_run_in: float) -> None:
    """Register the jobs (again, replacing any with the same id)."""
    settings = jobs.runtime.settings
    scheduler.add_job(
        jobs.sweep,
        IntervalTrigger(minutes=SWEEP_MINUTES, timezone=UTC),
        id=SWEEP_JOB_ID,
        name="Daily reminder DMs",
        replace_existing=True,
        next_run_time=datetime.now(UTC) + timedelta(seconds=first_run_in),
    )
    scheduler.add_job(
        jobs.upkeep,
        IntervalTrigger(hours=1, timezone=UTC),
        id=UPKEEP_JOB_ID,
        name="Summary windows, RFM cut points and event-id clean-up",
        replace_existing=True,
        next_run_time=datetime.now(UTC) + timedelta(seconds=first_run_in / 2),
    )
    scheduler.add_job(
        jobs.digest,
        CronTrigger(
            day_of_week="mon",
            hour=f"{settings.reminder_time.hour}-23",
            minute=f"*/{SWEEP_MINUTES}",
            timezone=ZoneInfo(settings.digest_timezone),
        ),
        id=DIGEST_JOB_ID,
        name="Weekly manager digest",
        replace_existing=True,
    )
    from bot.crm.config import configured_sources
    from bot.crm.jobs import SYNC_JOB_ID

    if configured_sources(settings):  # a CRM is connected: write back, then sync
        scheduler.add_job(
            _sync_and_refit,
            IntervalTrigger(minutes=settings.sync_interval_minutes, timezone=UTC),
            args=(jobs.runtime,),
            id=SYNC_JOB_ID,
            name="CRM sync and write-back",
            replace_existing=True,
            next_run_time=datetime.now(UTC) + timedelta(seconds=first_run_in),
        )
    scheduler.add_job(
        _fit_weekly,
        CronTrigger(day_of_week="sun", hour=3, timezone=UTC),
        args=[jobs.runtime],
        id=MODEL_FIT_JOB_ID,
        name="Weekly re-buy model fit",
        replace_existing=True,
    )
    scheduler.add_job(
        _refit_if_behind,
        IntervalTrigger(minutes=REFIT_CHECK_MINUTES, timezone=UTC),
        args=[jobs.runtime],
        id=MODEL_REFIT_JOB_ID,
        name="Re-buy model refit when the data cut-off moved",
        replace_existing=True,
    )


def start_scheduler(
    runtime: Runtime,
    client: WebClient,
    *,
    instance_id: str | None = None,
    first_run_in: float = 10.0,
    paused: bool = False,
) -> BackgroundScheduler:
    """Start the reminder and digest jobs on a background scheduler (memory job store).

    `first_run_in` seconds after start the first sweep runs, so reminders due while the
    process was down go out the same day. Shut it down with `.shutdown(wait=False)`.
    """
    jobs = ReminderJobs(runtime, client, instance_id=instance_id)
    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults=dict(JOB_DEFAULTS),
        executors={"default": ThreadPoolExecutor(max_workers=2)},
    )
    add_jobs(scheduler, jobs, first_run_in=first_run_in)
    scheduler.start(paused=paused)
    log.info(
        "scheduler started (instance %s): reminder sweep every %d minutes, weekly digest %s",
        jobs.instance_id,
        SWEEP_MINUTES,
        f"to {runtime.settings.digest_channel}" if runtime.settings.digest_channel else "off",
    )
    return scheduler


def run_scheduler_process(
    settings: Settings, *, first_run_in: float = 10.0, parent_pid: int | None = None
) -> None:
    """The scheduler process's main: jobs until SIGTERM/SIGINT (or the parent is gone).

    Reminders and the digest go through a client that retries only 429s: after a
    dropped connection or a 5xx Slack may have posted, and the run checks before
    posting again (see bot.reminders).
    """
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()

    def on_signal(signum: int, _frame) -> None:
        log.info("scheduler received %s, stopping", signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    runtime = build_runtime(settings, migrate=False)
    client = make_web_client(settings, only_rate_limits=True)
    scheduler = start_scheduler(runtime, client, first_run_in=first_run_in)
    try:
        while not stop.wait(1.0):
            if parent_pid is not None and os.getppid() != parent_pid:
                log.warning("the serving process is gone; the scheduler stops too")
                break
    finally:
        scheduler.shutdown(wait=False)
        runtime.db.dispose()


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """SIGINT ignored for the block (main thread only: elsewhere nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class SchedulerProcess:
    """The reminder and digest jobs in a child process, so they never hold the GIL of the
    process answering Slack."""

    def __init__(self, settings: Settings, *, first_run_in: float = 10.0) -> None:
        context = multiprocessing.get_context("spawn")
        self._process = context.Process(
            target=run_scheduler_process,
            args=(settings,),
            kwargs={"first_run_in": first_run_in, "parent_pid": os.getpid()},
            name="rebuy-scheduler",
        )

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def is_alive(self) -> bool:
        return self._process.is_alive()

    @property
    def exitcode(self) -> int | None:
        return self._process.exitcode

    def start(self) -> SchedulerProcess:
        # Started with SIGINT ignored, which the child inherits until
        # `run_scheduler_process` installs its handler: a Ctrl-C in the terminal reaches
        # the whole process group, and while the child was still importing it printed a
        # KeyboardInterrupt traceback. The serving process stops it with SIGTERM anyway.
        with _sigint_ignored():
            self._process.start()
        log.info("scheduler process started (pid %s)", self._process.pid)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, wait up to `timeout` seconds for a clean exit, then kill. Idempotent."""
        if self._process.pid is None:
            return
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout)
        if self._process.is_alive():
            log.warning("scheduler process did not stop in %.0f s; killing it", timeout)
            self._process.kill()
            self._process.join(5)


def _fit_weekly(runtime: Runtime) -> None:
    # numpy/scipy are loaded by the first fit, not when the scheduler starts.
    from bot.retention.rebuy_model.fit_job import fit_weekly

    fit_weekly(runtime)


def _refit_if_behind(runtime: Runtime) -> None:
    # The check is one cheap query without numpy; numpy/scipy load only when a refit is due.
    from bot.retention.rebuy_model.store import fit_is_behind

    try:
        with runtime.db.session() as session:
            behind = fit_is_behind(session=session, configured=runtime.settings.rebuy_data_cutoff)
        if behind:
            from bot.retention.rebuy_model.fit_job import refit_if_behind

            refit_if_behind(runtime)
    except Exception:  # the next check tries again; the stored fit stays in use
        log.exception("re-buy model refit failed")


def _sync_and_refit(runtime: Runtime) -> None:
    """The scheduled sync, then today's RFM cut points (a sync that wrote orders cleared
    them: the next card would compute them inside Slack's wait) and a refit if it moved
    the data cut-off."""
    from bot.crm.jobs import sync_all

    sync_all(runtime)
    warm_cutoffs_after_writing(runtime.db, now=runtime.now())  # a cache read if unchanged
    _refit_if_behind(runtime)
