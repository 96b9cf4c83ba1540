"""The scheduler: its jobs, two schedulers on one database, the daily time-zone refresh and
the weekly manager digest."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlmodel import select
from typer.testing import CliRunner

from bot import cli
from bot.db import Database
from bot.messages.digest import weekly_digest as digest_message
from bot.reminders import post_weekly_digest
from bot.retention.digest import weekly_digest
from bot.retention.tactics import tactic_bank
from bot.scheduler import (
    DIGEST_JOB_ID,
    MODEL_FIT_JOB_ID,
    MODEL_REFIT_JOB_ID,
    SWEEP_JOB_ID,
    UPKEEP_JOB_ID,
    ReminderJobs,
    add_jobs,
    start_scheduler,
)
from models import DigestRun, Rep
from tests.doubles.slack_double import SlackDouble
from tests.support import factories
from tests.support.factories import NOW
from tests.support.reminders import (
    client_for,
    due_account,
    fresh_account,
    linked_rep,
    make_runtime,
    posts_by_slot,
    runs,
)

DIGEST_CHANNEL = "C0DIGEST"


# --- jobs ---------------------------------------------------------------------------------


def test_scheduler_registers_two_jobs_with_explicit_ids_and_deliberate_defaults(
    sqlite_db: Database, double: SlackDouble
) -> None:
    runtime = make_runtime(sqlite_db, double, reminder_time="07:30")
    scheduler = start_scheduler(runtime, client_for(runtime), paused=True, first_run_in=30)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {
            SWEEP_JOB_ID,
            DIGEST_JOB_ID,
            UPKEEP_JOB_ID,
            MODEL_FIT_JOB_ID,
            MODEL_REFIT_JOB_ID,
        }
        for job in jobs.values():
            assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 300)
        sweep, digest = jobs[SWEEP_JOB_ID], jobs[DIGEST_JOB_ID]
        assert isinstance(sweep.trigger, IntervalTrigger)
        assert sweep.trigger.interval == timedelta(minutes=5)
        soon = sweep.next_run_time - datetime.now(UTC)
        assert timedelta(0) < soon <= timedelta(seconds=30)  # the first sweep comes soon
        assert isinstance(digest.trigger, CronTrigger)
        fields = {field.name: str(field) for field in digest.trigger.fields}
        assert (fields["day_of_week"], fields["hour"], fields["minute"]) == ("mon", "7-23", "*/5")
        assert isinstance(scheduler._lookup_jobstore("default"), MemoryJobStore)

        add_jobs(scheduler, ReminderJobs(runtime, client_for(runtime)), first_run_in=0)
        assert sorted(job.id for job in scheduler.get_jobs()) == sorted(jobs)  # replaced
    finally:
        scheduler.shutdown(wait=False)


def test_two_schedulers_on_one_database_send_each_reminder_once(
    db: Database, double: SlackDouble, caplog: pytest.LogCaptureFixture
) -> None:
    users = [f"U{n}" for n in range(1, 6)]
    with db.transaction() as session:
        for user in users:
            # Linked, but never synced: each scheduler also refreshes time zones first.
            rep = factories.rep(session, email=f"{user.lower()}@example.com", slack_user_id=user)
            due_account(session, rep, f"{user} account")
            double.add_user(user, email=rep.email, tz="Europe/Berlin")
    runtime = make_runtime(db, double)
    finished: list[JobExecutionEvent] = []
    done = threading.Semaphore(0)

    def on_sweep(event: JobExecutionEvent) -> None:
        if event.job_id == SWEEP_JOB_ID:
            finished.append(event)
            done.release()

    caplog.set_level(logging.INFO, logger="bot.scheduler")
    schedulers = [
        start_scheduler(runtime, client_for(runtime), instance_id=name, first_run_in=0, paused=True)
        for name in ("a", "b")
    ]
    try:
        for scheduler in schedulers:
            scheduler.add_listener(on_sweep, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        for scheduler in schedulers:
            scheduler.resume()
        assert done.acquire(timeout=30) and done.acquire(timeout=30)
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=True)

    assert [event.exception for event in finished] == [None, None]
    slots = posts_by_slot(double)
    assert len(slots) == 2 * len(users) and set(slots.values()) == {1}
    assert {run.status for run in runs(db)} == {"sent"} and len(runs(db)) == len(users)
    sent = sorted(event.retval.sent for event in finished)
    assert sum(sent) == len(users)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("reminder sweep")]
    assert len(lines) == 2 and all("failed" in line and "skipped" in line for line in lines)
    with db.session() as session:
        assert {rep.tz_synced_at for rep in session.exec(select(Rep))} == {NOW}


def test_time_zones_are_refreshed_from_slack_once_a_day(db: Database, double: SlackDouble) -> None:
    with db.transaction() as session:
        factories.rep(session, email="ana@example.com")
    double.add_user("U1", email="ana@example.com", tz="Asia/Tokyo")
    runtime = make_runtime(db, double)
    jobs = ReminderJobs(runtime, client_for(runtime))

    assert jobs.refresh_time_zones() is True
    assert jobs.refresh_time_zones() is False  # synced just now
    with db.session() as session:
        rep = session.exec(select(Rep)).one()
    assert (rep.slack_user_id, rep.tz) == ("U1", "Asia/Tokyo")
    assert len(double.calls_to("users.list")) == 1

    tomorrow = ReminderJobs(make_runtime(db, double, now=NOW + timedelta(hours=25)), jobs.client)
    double.fail_next("users.list", error="invalid_auth", times=None)
    assert tomorrow.refresh_time_zones() is False  # logged; reminders still go out
    assert tomorrow.refresh_time_zones() is False  # and not retried within the hour
    assert len(double.calls_to("users.list")) == 2


# --- the weekly digest ------------------------------------------------------------------------


def _digest_workspace(session) -> dict:
    """Two reps with a week's worth of coverage, risk, a rebuy after a touch and a tactic."""
    tactic = next(iter(tactic_bank().values()))
    ana = linked_rep(session, "U1", name="Ana")
    bo = linked_rep(session, "U2", name="Bo")
    for day in ("2026-06-10", "2026-06-12"):
        acct = factories.account(session, f"Ana fresh {day}", owner_id=ana.id)
        factories.touch(session, acct, day, rep_id=ana.id)
    comeback = factories.account(session, "Comeback Co", owner_id=ana.id)
    factories.touch(session, comeback, "2026-05-20", rep_id=ana.id, tactic_id=tactic.id)
    factories.order(session, comeback, "2026-06-12", 1500)
    due_account(session, ana, "Ana overdue")
    # 18 months without an order from this week on: newly at risk.
    risky = factories.account(session, "<!channel> Risky", owner_id=bo.id)
    factories.order(session, risky, "2024-12-12", 800)
    factories.touch(session, risky, "2026-06-01")
    due_account(session, bo, "Bo overdue")
    # Ordered this week, but the last touch was long before: no shout-out.
    alone = factories.account(session, "Orders alone", owner_id=bo.id)
    factories.touch(session, alone, "2026-03-01")
    factories.order(session, alone, "2026-06-13", 900)
    return {"tactic": tactic}


def test_weekly_digest_content(db: Database) -> None:
    with db.transaction() as session:
        seeded = _digest_workspace(session)
    runtime = make_runtime(db)
    with db.session() as session:
        digest = weekly_digest(
            session=session, now=NOW, as_of=NOW.date(), tier_cadence=runtime.tier_cadence
        )

    assert [(r.email, r.covered, r.accounts, r.touches) for r in digest.reps] == [
        ("u2@example.com", 1, 3, 0),  # lowest coverage first
        ("u1@example.com", 3, 4, 2),
    ]
    assert (digest.covered, digest.accounts) == (4, 7)
    assert [(a.name, a.was, a.health) for a in digest.newly_at_risk] == [
        ("<!channel> Risky", 50, 35)
    ]
    assert [(s.email, s.accounts, s.amount) for s in digest.shout_outs] == [
        ("u1@example.com", ["Comeback Co"], 1500.0)
    ]
    assert [(t["id"], t["wins"], t["touches"]) for t in digest.tactic_win_rates] == [
        (seeded["tactic"].id, 1, 1)
    ]

    message = digest_message(digest)
    text = "\n".join(
        b["text"]["text"] if "text" in b else " ".join(e["text"] for e in b.get("elements", []))
        for b in message["blocks"]
        if b["type"] != "divider"
    )
    assert "Rebuy weekly digest · Mon 8 – Mon 15 Jun" in text
    assert "*Team coverage 57%*: 4 of 7 accounts touched within cadence · 2 touches" in text
    assert text.index("<@U2>: 33% covered (1/3) · 0 touches") < text.index(
        "<@U1>: 75% covered (3/4) · 2 touches"
    )
    assert "*&lt;!channel&gt; Risky* (50 → 35) · <@U2>" in text
    assert "<!channel>" not in str(message)
    assert "<@U1>: Comeback Co re-bought ($1,500) after a touch" in text
    assert f"{seeded['tactic'].title}: 1/1 re-bought (100%)" in text
    assert len(message["blocks"]) <= 50


def test_a_credit_note_or_a_free_sample_after_a_tactic_is_no_win(db: Database) -> None:
    from bot.retention.tactic_stats import tactic_win_rates

    tactic = next(iter(tactic_bank().values()))
    with db.transaction() as session:
        for name, amount in (("Refunded", -300), ("Sampled", 0), ("Bought", 250)):
            acct = factories.account(session, name)
            factories.touch(session, acct, "2026-03-01", tactic_id=tactic.id)  # settled
            factories.order(session, acct, "2026-03-20", amount)
    with db.session() as session:
        rates = tactic_win_rates(session=session, now=NOW)
    assert [(r["id"], r["touches"], r["wins"]) for r in rates] == [(tactic.id, 3, 1)]


def test_weekly_digest_posts_once_per_week_across_instances(
    db: Database, double: SlackDouble
) -> None:
    with db.transaction() as session:
        rep = linked_rep(session, "U1")
        fresh_account(session, rep, "Fresh")
    runtime = make_runtime(db, double, digest_channel=DIGEST_CHANNEL)
    instances = [ReminderJobs(runtime, client_for(runtime), instance_id=n) for n in "ab"]
    start = threading.Barrier(2)
    posted: list[str | None] = []

    def run(jobs: ReminderJobs) -> None:
        start.wait()
        posted.append(jobs.digest())

    threads = [threading.Thread(target=run, args=(jobs,)) for jobs in instances]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    (message,) = double.messages(DIGEST_CHANNEL)
    assert sorted(posted, key=str) == sorted([message["ts"], None], key=str)
    assert instances[0].digest() is None  # the next tick that Monday
    later = make_runtime(db, double, now=NOW + timedelta(days=2), digest_channel=DIGEST_CHANNEL)
    assert post_weekly_digest(later, client_for(later)) is None  # Wednesday: not due
    next_week = make_runtime(db, double, now=NOW + timedelta(days=7), digest_channel=DIGEST_CHANNEL)
    assert post_weekly_digest(next_week, client_for(next_week)) is not None
    assert len(double.messages(DIGEST_CHANNEL)) == 2
    with db.session() as session:
        weeks = session.exec(select(DigestRun).order_by(DigestRun.week_start)).all()
    assert [(w.week_start.isoformat(), w.status, w.channel) for w in weeks] == [
        ("2026-06-15", "sent", DIGEST_CHANNEL),
        ("2026-06-22", "sent", DIGEST_CHANNEL),
    ]
    assert weeks[0].ts == message["ts"]


def test_weekly_digest_goes_out_on_monday_morning_in_the_digest_time_zone(
    db: Database, double: SlackDouble
) -> None:
    def at(iso: str):
        runtime = make_runtime(
            db,
            double,
            now=datetime.fromisoformat(iso).replace(tzinfo=UTC),
            digest_channel=DIGEST_CHANNEL,
            digest_timezone="America/Los_Angeles",
        )
        return post_weekly_digest(runtime, client_for(runtime))

    assert at("2026-06-15T08:00") is None  # Monday 01:00 in Los Angeles
    assert at("2026-06-15T15:59") is None  # 08:59
    assert at("2026-06-16T06:59") is not None  # Monday 23:59: late, but still Monday
    assert at("2026-06-16T07:00") is None  # Tuesday
    assert len(double.messages(DIGEST_CHANNEL)) == 1


def test_a_failed_digest_is_retried_on_the_next_tick(db: Database, double: SlackDouble) -> None:
    runtime = make_runtime(db, double, digest_channel=DIGEST_CHANNEL)
    double.fail_next("chat.postMessage", error="not_in_channel", channel=DIGEST_CHANNEL)

    assert post_weekly_digest(runtime, client_for(runtime)) is None
    with db.session() as session:
        assert session.exec(select(DigestRun.status)).one() == "failed"
    ts = post_weekly_digest(runtime, client_for(runtime))
    assert ts is not None
    assert [m["ts"] for m in double.messages(DIGEST_CHANNEL)] == [ts]


def test_no_digest_without_a_digest_channel(db: Database, double: SlackDouble) -> None:
    runtime = make_runtime(db, double)
    assert post_weekly_digest(runtime, client_for(runtime), force=True) is None
    assert double.calls == []


def test_a_digest_posted_by_an_instance_that_died_is_not_posted_again(
    db: Database, double: SlackDouble
) -> None:
    runtime = make_runtime(db, double, digest_channel=DIGEST_CHANNEL)
    client = client_for(runtime)
    # The dead instance's post reached Slack, but it never recorded it.
    client.chat_postMessage(
        channel=DIGEST_CHANNEL,
        text="digest",
        metadata={"event_type": "rebuy_digest", "event_payload": {"week_start": "2026-06-15"}},
    )
    with db.transaction() as session:
        session.add(
            DigestRun(
                week_start=NOW.date(),
                status="claimed",
                lease_until=NOW - timedelta(minutes=1),
                created_at=NOW - timedelta(minutes=11),
            )
        )

    ts = post_weekly_digest(runtime, client)

    assert ts == double.messages(DIGEST_CHANNEL)[0]["ts"]
    assert len(double.calls_to("chat.postMessage")) == 1
    with db.session() as session:
        assert session.exec(select(DigestRun.status)).one() == "sent"


def test_digest_handles_reps_with_no_accounts_and_money_values(db: Database) -> None:
    with db.transaction() as session:
        linked_rep(session, "U9")  # no accounts, no touches: left out
        rep = linked_rep(session, "U1")
        acct = factories.account(session, "Valued", owner_id=rep.id, annual_value=Decimal("12000"))
        factories.touch(session, acct, "2026-06-14", rep_id=rep.id)
    with db.session() as session:
        digest = weekly_digest(session=session, now=NOW, as_of=NOW.date(), tier_cadence={"mid": 30})
    assert [(r.email, r.coverage) for r in digest.reps] == [("u1@example.com", 1.0)]
    assert digest.shout_outs == [] and digest.newly_at_risk == []


def test_rebuy_report_includes_tactic_win_rates(db: Database) -> None:
    with db.transaction() as session:
        seeded = _digest_workspace(session)
    env = {"DATABASE_URL": db.url, "REBUY_NOW": NOW.isoformat()}

    as_json = CliRunner().invoke(cli.app, ["report", "--json"], env=env)
    as_text = CliRunner().invoke(cli.app, ["report"], env=env)

    assert as_json.exit_code == 0, as_json.output
    rates = json.loads(as_json.output)["tactic_win_rates"]
    assert [(r["id"], r["touches"], r["wins"], r["win_rate"]) for r in rates] == [
        (seeded["tactic"].id, 1, 1, 1.0)
    ]
    assert as_text.exit_code == 0, as_text.output
    assert "Tactics that bring rebuys" in as_text.output
    assert "100%" in as_text.output


def test_upkeep_moves_summaries_warms_rfm_cut_points_and_forgets_old_event_ids(
    db: Database,
) -> None:
    from bot.clock import fixed_clock
    from bot.retention.summary import refresh_summary
    from bot.runtime import Runtime
    from bot.settings import Settings
    from models import AccountSummary, RfmCutoffs, SlackEvent

    now = datetime(2026, 6, 15, 3, 0, tzinfo=UTC)
    runtime = Runtime(settings=Settings(_env_file=None), db=db, clock=fixed_clock(now))
    with db.transaction() as session:
        acct = factories.account(session)
        factories.order(session, acct, "2026-06-01")
        factories.order(session, acct, "2025-12-10")
        # Last refreshed by an import ten days ago: its 6-month window still holds December.
        refresh_summary(session.connection(), [acct.id], today=date(2026, 6, 5))
        session.add(
            SlackEvent(
                event_id="Ev-old", event_type="reaction_added", received_at=now - timedelta(days=8)
            )
        )
        session.add(
            SlackEvent(
                event_id="Ev-new", event_type="reaction_added", received_at=now - timedelta(hours=1)
            )
        )
    jobs = ReminderJobs(runtime, client=None)  # type: ignore[arg-type]
    assert jobs.upkeep() == 1
    with db.session() as session:
        assert session.get(RfmCutoffs, now.date()) is not None
        summary = session.get(AccountSummary, acct.id)
        assert (summary.windows_on, summary.value_6m_cents) == (now.date(), 100_000)
        assert session.get(SlackEvent, "Ev-old") is None
        assert session.get(SlackEvent, "Ev-new") is not None


def test_upkeep_lets_other_writers_in_while_it_computes_cut_points(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The day's cut points read every order (seconds at 1,000,000): on SQLite, holding
    the write lock meanwhile made the sweep's users.list sync fail with "database is
    locked" in bench_load --sweep. A writer that does not wait must get in."""
    from bot.clock import fixed_clock
    from bot.retention import rfm
    from bot.runtime import Runtime
    from bot.settings import Settings
    from models import RfmCutoffs, SlackEvent

    now = datetime(2026, 6, 15, 3, 0, tzinfo=UTC)
    runtime = Runtime(settings=Settings(_env_file=None), db=db, clock=fixed_clock(now))
    with db.transaction() as session:
        factories.order(session, factories.account(session), "2026-06-01")
    measures = rfm._summary_cutoffs
    written: list[str] = []

    def measures_while_another_writes(**kwargs):
        with db.transaction(lock_wait_ms=0) as other:
            other.add(SlackEvent(event_id="Ev-meanwhile", event_type="x", received_at=now))
        written.append("Ev-meanwhile")
        return measures(**kwargs)

    monkeypatch.setattr(rfm, "_summary_cutoffs", measures_while_another_writes)
    ReminderJobs(runtime, client=None).upkeep()  # type: ignore[arg-type]
    assert written == ["Ev-meanwhile"]
    with db.session() as session:
        assert session.get(RfmCutoffs, now.date()) is not None
        assert session.get(SlackEvent, "Ev-meanwhile") is not None
