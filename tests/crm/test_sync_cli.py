"""`rebuy sync` and `rebuy sync status` as an admin uses them, and the scheduled sync job."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlmodel import select

from bot.clock import clock_from
from bot.crm.jobs import SYNC_JOB_ID, sync_all
from bot.db import Database
from bot.retention.rebuy_model.store import latest_fit
from bot.runtime import Runtime
from bot.scheduler import ReminderJobs, _sync_and_refit, add_jobs
from bot.settings import Settings
from models import Account, RfmCutoffs, SyncRun
from tests.doubles.hubspot_double import HubSpotDouble
from tests.support.cli import run
from tests.support.factories import NOW


@pytest.fixture
def hubspot(db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[HubSpotDouble]:
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("REBUY_NOW", NOW.isoformat())
    with HubSpotDouble() as double:
        double.generate(companies=25, deals=80, activities=60)
        monkeypatch.setenv("HUBSPOT_TOKEN", double.token)
        monkeypatch.setenv("HUBSPOT_API_URL", double.url)
        yield double


def test_sync_without_a_crm_says_what_to_set(db: Database, monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    code, out, err = run(capsys, "sync")
    assert code == 1 and "No CRM is configured: set HUBSPOT_TOKEN" in err
    code, out, err = run(capsys, "sync", "pipedrive")
    assert code == 1 and "“pipedrive” is not a sync source" in err
    code, out, err = run(capsys, "sync", "status")
    assert code == 0 and "No sync has run yet" in out


def test_sync_dry_run_then_sync_then_status(hubspot: HubSpotDouble, db: Database, capsys) -> None:
    code, out, err = run(capsys, "sync", "hubspot", "--dry-run")
    assert code == 0, err
    assert "hubspot:" in out and "(dry run: nothing written)" in out
    assert "accounts: 25 records" in err  # progress
    with db.session() as session:
        assert session.exec(select(Account)).all() == []
    code, out, err = run(capsys, "sync")
    assert code == 0, err
    assert "25 new" not in out and "; ok" in out
    with db.session() as session:
        assert len(session.exec(select(Account)).all()) == 25
        # The orders it wrote cleared today's cut points; they are computed again before
        # the next card needs them.
        assert session.get(RfmCutoffs, NOW.date()) is not None
    code, out, err = run(capsys, "sync", "status")
    assert code == 0
    assert out.startswith("#1 hubspot 15 Jun 2026, 14:00 UTC ok (") and "through 15 Jun 2026" in out


def test_an_expired_token_fails_the_sync_with_a_clear_message(
    hubspot: HubSpotDouble, db: Database, capsys
) -> None:
    hubspot.expire_token()
    code, out, err = run(capsys, "sync", "hubspot")
    assert code == 1
    assert "HubSpot refused the access token" in out and "Traceback" not in out + err
    with db.session() as session:
        run_row = session.exec(select(SyncRun)).one()
        assert run_row.status == "failed" and "HTTP 401" in (run_row.errors or "")


def test_the_scheduler_syncs_every_interval_when_a_crm_is_connected(
    hubspot: HubSpotDouble, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        hubspot_token=hubspot.token, hubspot_api_url=hubspot.url, sync_interval_minutes=30
    )
    runtime = Runtime(settings=settings, db=db, clock=clock_from(NOW))
    scheduler = BackgroundScheduler()
    add_jobs(scheduler, ReminderJobs(runtime, client=None), first_run_in=5)  # type: ignore[arg-type]
    job = next(job for job in scheduler.get_jobs() if job.id == SYNC_JOB_ID)
    assert isinstance(job.trigger, IntervalTrigger)
    assert job.trigger.interval == timedelta(minutes=30)
    assert job.func is _sync_and_refit and job.args == (runtime,)
    job.func(*job.args)  # the sync, then cut points and a refit since it moved the data
    with db.session() as session:
        runs = session.execute(sa.select(SyncRun.status, SyncRun.through)).all()
        fit = latest_fit(session=session)
        assert session.get(RfmCutoffs, NOW.date()) is not None
    assert [status for status, _ in runs] == ["ok"]
    assert fit is not None and fit.cutoff == runs[0].through.date()
    assert sync_all(runtime)[0].status == "ok"
    monkeypatch.delenv("HUBSPOT_TOKEN")
    without = Runtime(settings=Settings(), db=db, clock=clock_from(NOW))
    scheduler = BackgroundScheduler()
    add_jobs(scheduler, ReminderJobs(without, client=None), first_run_in=5)  # type: ignore[arg-type]
    assert SYNC_JOB_ID not in {job.id for job in scheduler.get_jobs()}
