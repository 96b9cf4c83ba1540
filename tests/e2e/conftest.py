"""End-to-end fixtures: Rebuy over Socket Mode (`socket_app`) and the database the
HTTP-served app runs on. The app (`slack_app`) and the Slack double (`double`) are in
tests/conftest.py.

Which database: the domain layer (tests/domain, tests/delivery, tests/crm, tests/cli)
runs every test on SQLite and on PostgreSQL. End to end, what is under test is the
Slack side (signatures, acks, replies, Block Kit), the same on either database, so a
test runs on SQLite unless it is marked `both_databases`: those that write through
Slack (touches, plans, snoozes, reactions, away), the exactly-once and concurrency
tests, the database faults, and one test of each read path (card, pick list, typo,
book, lists, report), so every query a listener's domain call makes runs on
PostgreSQL too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.app import create_app
from bot.clock import fixed_clock
from bot.db import Database
from bot.runtime import Runtime
from bot.settings import Settings
from tests.doubles.slack_double import SlackDouble
from tests.doubles.socket_mode_double import SocketModeDouble
from tests.support import factories as f
from tests.support.databases import open_database
from tests.support.socket_app import APP_TOKEN, BOT_TOKEN, WAIT, ListenerRuns, SocketApp

both_databases = pytest.mark.both_databases


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_databases"):
        metafunc.parametrize("db", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """SQLite; SQLite and PostgreSQL for tests marked `both_databases`."""
    database = open_database(getattr(request, "param", "sqlite"), request, tmp_path)
    yield database
    database.dispose()


@pytest.fixture
def socket_app(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[SocketApp]:
    """Rebuy connected over Socket Mode; the Web API double knows only the two tokens."""
    handlers: list[SocketModeHandler] = []

    class RecordingHandler(SocketModeHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            handlers.append(self)

    monkeypatch.setattr("bot.server.SocketModeHandler", RecordingHandler)
    with (
        SlackDouble(tokens={BOT_TOKEN, APP_TOKEN}) as slack,
        SocketModeDouble() as socket,
    ):
        slack.socket_mode_url = socket.connection_url
        settings = Settings(
            _env_file=None,
            slack_bot_token=BOT_TOKEN,
            slack_app_token=APP_TOKEN,
            slack_api_url=slack.api_url,
            rebuy_now=f.NOW,
            listener_threads=8,
        )
        assert settings.slack_signing_secret is None  # Socket Mode needs none
        runtime = Runtime(settings=settings, db=sqlite_db, clock=fixed_clock(f.NOW))
        app = create_app(runtime)
        runs = ListenerRuns()
        app.listener_runner.listener_completion_handler = runs
        running = SocketApp(runtime, app, slack, socket, runs, handlers)
        running.start()
        try:
            socket.wait_connected()
            yield running
        finally:
            running.stop.set()
            if running.thread is not None:
                running.thread.join(WAIT)
            running.quiesce()
    assert running.failures == []
