"""End-to-end fixtures: Rebuy over Socket Mode (`socket_app`). The HTTP-served app
(`slack_app`) and the Slack double (`double`) are in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
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
from tests.support.socket_app import APP_TOKEN, BOT_TOKEN, WAIT, ListenerRuns, SocketApp


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
