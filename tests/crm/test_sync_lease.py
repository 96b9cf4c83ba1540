"""One sync of a source at a time: two `rebuy sync hubspot` at once, the scheduled job next
to a hand-run sync, a holder killed with kill -9, a run that lost its lease."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from bot.clock import clock_from
from bot.crm.jobs import sync_all
from bot.crm.lease import Holder, acquire
from bot.crm.sync import last_runs, run_sync
from bot.db import Database
from bot.runtime import Runtime
from bot.settings import Settings
from models import SyncLease, SyncRun
from tests.doubles.hubspot_double import HubSpotDouble
from tests.support.factories import NOW
from tests.support.paths import REPO_ROOT as REPO
from tests.support.sync import TIERS, Clock, counts, expected, source_for

WALL = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def hubspot() -> Iterator[HubSpotDouble]:
    with HubSpotDouble() as double:
        yield double


@pytest.fixture
def sleeper() -> Iterator[int]:
    """A live process that is not this one (another `rebuy sync`, as far as a lease knows)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child.pid
    child.kill()
    child.wait()


def other(pid: int, host: str | None = None) -> Holder:
    import socket

    host = host or socket.gethostname()
    return Holder(f"`rebuy sync` (pid {pid} on {host})", host, pid)


def cli(db: Database, double: HubSpotDouble) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HUBSPOT", "SYNC_"))}
    env.update(
        DATABASE_URL=db.engine.url.render_as_string(hide_password=False),
        HUBSPOT_TOKEN=double.token,
        HUBSPOT_API_URL=double.url,
        REBUY_NOW=NOW.isoformat(),
        PYTHONPATH=str(REPO),
    )
    return subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", "sync", "hubspot"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def lease_holder(db: Database) -> str | None:
    with db.session() as session:
        row = session.exec(select(SyncLease).where(SyncLease.source == "hubspot")).first()
        return row.holder if row else None


@pytest.mark.slow
def test_two_syncs_at_once_one_runs_and_the_other_says_who_is_running(
    db: Database, hubspot: HubSpotDouble
) -> None:
    hubspot.generate(companies=30, deals=120, activities=120)
    want = expected(hubspot)
    hubspot.flowing.clear()  # HubSpot hangs: the first sync is still running when the second starts
    first = cli(db, hubspot)
    deadline = time.monotonic() + 60
    while lease_holder(db) is None:
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    second = cli(db, hubspot)
    out2, err2 = second.communicate(timeout=120)
    hubspot.flowing.set()
    out1, err1 = first.communicate(timeout=180)
    assert first.returncode == 0, out1 + err1
    assert second.returncode == 1, out2 + err2
    assert "hubspot: A sync of hubspot is already running (started " in out2
    assert f"ago by `rebuy sync` (pid {first.pid} on " in out2 or "just now by" in out2
    assert f"(pid {first.pid} on " in out2 and "Traceback" not in out2 + err2
    got = counts(db)
    assert (got["accounts"], got["orders"], got["touches"]) == (
        want["accounts"],
        want["orders"],
        want["touches"],
    )
    with db.session() as session:
        assert [r.status for r in last_runs(session)] == ["ok"]  # the second stored no run
    assert lease_holder(db) is None  # released at the end


def test_a_held_lease_makes_the_next_run_busy_and_an_expired_one_is_taken_over(
    db: Database, hubspot: HubSpotDouble
) -> None:
    hubspot.generate(companies=20, deals=40, activities=40)
    elsewhere = other(4242, host="worker-2")
    acquire(db, "hubspot", elsewhere, now=WALL - timedelta(minutes=2))
    busy = run_sync(
        db=db, source=source_for(hubspot), clock=Clock(), tiers=TIERS, wall=lambda: WALL
    )
    assert busy.status == "busy"
    assert busy.summary() == (
        "hubspot: A sync of hubspot is already running (started 2 min ago by `rebuy sync` "
        "(pid 4242 on worker-2)). This one did nothing; run it again once that one has "
        "finished (`rebuy sync status` shows it)."
    )
    assert counts(db)["accounts"] == 0
    with db.session() as session:
        assert session.exec(select(SyncRun)).all() == []
    # The holder on worker-2 went silent (killed, or its machine died): 15 minutes after
    # its last renewal the lease is free.
    later = WALL + timedelta(minutes=14)
    taken = run_sync(
        db=db, source=source_for(hubspot), clock=Clock(), tiers=TIERS, wall=lambda: later
    )
    assert taken.status == "ok" and counts(db)["accounts"] == 20
    assert lease_holder(db) is None


def test_a_holder_killed_on_this_host_does_not_block_the_next_run(
    db: Database, hubspot: HubSpotDouble
) -> None:
    hubspot.generate(companies=10, deals=20, activities=20)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    acquire(db, "hubspot", other(dead.pid), now=WALL)
    result = run_sync(
        db=db, source=source_for(hubspot), clock=Clock(), tiers=TIERS, wall=lambda: WALL
    )
    assert result.status == "ok" and counts(db)["accounts"] == 10


def test_the_scheduled_job_skips_while_a_hand_run_sync_holds_the_source(
    db: Database, hubspot: HubSpotDouble, sleeper: int, caplog: pytest.LogCaptureFixture
) -> None:
    hubspot.generate(companies=10, deals=20, activities=20)
    acquire(db, "hubspot", other(sleeper), now=datetime.now(UTC) - timedelta(minutes=3))
    settings = Settings(hubspot_token=hubspot.token, hubspot_api_url=hubspot.url)
    runtime = Runtime(settings=settings, db=db, clock=clock_from(NOW))
    with caplog.at_level(logging.INFO, logger="bot.crm.jobs"):
        results = sync_all(runtime)
    assert [r.status for r in results] == ["busy"]
    assert "skipped: hubspot: A sync of hubspot is already running (started 3 min ago by " in (
        caplog.text
    )
    assert f"(pid {sleeper} on " in caplog.text
    assert counts(db)["accounts"] == 0
    with db.session() as session:
        assert session.exec(select(SyncRun)).all() == []
    # Once the other run is done, the next round syncs.
    with db.transaction() as session:
        session.execute(sa.delete(SyncLease))
    assert [r.status for r in sync_all(runtime)] == ["ok"]


def test_a_run_that_lost_its_lease_stops_and_keeps_what_it_stored(
    db: Database, hubspot: HubSpotDouble
) -> None:
    hubspot.generate(companies=30, deals=400, activities=20)
    source = source_for(hubspot)
    original = source._call
    pages = 0

    def stalling(what, call):
        nonlocal pages
        if "deals (search)" in what:
            pages += 1
            if pages == 3:
                # This run stalled past its lease and another took the source over.
                with db.transaction() as session:
                    session.execute(
                        sa.update(SyncLease).values(host="worker-2", pid=99, holder="someone")
                    )
        return original(what, call)

    source._call = stalling  # type: ignore[method-assign]
    result = run_sync(
        db=db,
        source=source,
        clock=Clock(),
        tiers=TIERS,
        streams=["accounts", "orders"],
        chunk_records=100,
    )
    assert result.status == "failed"
    assert "lost its lease" in result.errors[0]
    stored = counts(db)["orders"]
    assert 0 < stored < expected(hubspot)["orders"]
    with db.session() as session:
        assert last_runs(session)[0].status == "failed"
        # The other holder's lease is left alone.
        assert session.exec(select(SyncLease.holder)).all() == ["someone"]
