"""`rebuy serve` runs the scheduler in a process of its own: it starts, sweeps against
the database and Slack it is configured for, and stops cleanly on SIGTERM or SIGINT."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import pytest

from bot.scheduler import SchedulerProcess
from bot.settings import Settings
from tests.factories import NOW
from tests.slack_double import SlackDouble

STARTUP = 30.0  # a spawned interpreter imports everything again; the machine may be busy


@pytest.fixture
def settings(tmp_path: Path, sqlite_template: Path, double: SlackDouble) -> Settings:
    path = tmp_path / "rebuy.db"
    shutil.copy(sqlite_template, path)
    return Settings(
        _env_file=None,
        database_url=f"sqlite:///{path}",
        slack_bot_token="xoxb-test",
        slack_signing_secret="secret",
        slack_api_url=double.api_url,
        rebuy_now=NOW,
    )


@pytest.fixture
def double():
    with SlackDouble() as slack:
        yield slack


@pytest.mark.parametrize("how", ["stop", signal.SIGINT])
def test_the_scheduler_process_sweeps_then_stops_cleanly(
    settings: Settings, double: SlackDouble, how: str | signal.Signals
) -> None:
    scheduler = SchedulerProcess(settings, first_run_in=0.2).start()
    try:
        # The first sweep refreshes reps' time zones from users.list: the child is working.
        double.wait_for("users.list", timeout=STARTUP)
        assert scheduler.pid != os.getpid()
        started = time.monotonic()
        if how == "stop":
            scheduler.stop(timeout=10)
        else:
            os.kill(scheduler.pid, how)
            deadline = time.monotonic() + 10
            while scheduler.is_alive() and time.monotonic() < deadline:
                time.sleep(0.05)
        took = time.monotonic() - started
    finally:
        scheduler.stop(timeout=5)

    assert scheduler.exitcode == 0
    assert took < 5
