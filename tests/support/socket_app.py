"""Rebuy over Socket Mode against the local Socket Mode and Web API doubles."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.listener.listener_completion_handler import ListenerCompletionHandler

from bot.db import Database
from bot.runtime import Runtime
from bot.server import start_socket_mode
from tests.doubles.slack_double import SlackDouble
from tests.doubles.socket_mode_double import SocketModeDouble
from tests.support import factories as f
from tests.support.slack_signing import (
    slash_command_body,
)

BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"
ANA = "U123"  # the default acting user of the payload builders
WAIT = 5.0


def command_fields(text: str, response_url: str, **options: Any) -> dict[str, str]:
    body = slash_command_body(text=text, response_url=response_url, **options)
    return dict(parse_qsl(body.decode()))


def interaction(body: bytes) -> dict[str, Any]:
    return json.loads(parse_qs(body.decode())["payload"][0])


class ListenerRuns(ListenerCompletionHandler):
    """Bolt calls this after every listener run: how often each event_id was handled."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self._cond = threading.Condition()

    def handle(self, request: BoltRequest, response: BoltResponse | None) -> None:
        with self._cond:
            self.seen[(request.body or {}).get("event_id", "?")] += 1
            self._cond.notify_all()

    def wait(self, event_id: str, timeout: float = WAIT) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.seen[event_id] > 0, timeout):
                raise AssertionError(f"event {event_id} was not handled within {timeout}s")


@dataclass
class SocketApp:
    runtime: Runtime
    app: App
    slack: SlackDouble
    socket: SocketModeDouble
    runs: ListenerRuns
    handlers: list[SocketModeHandler]  # what start_socket_mode created
    stop: threading.Event = field(default_factory=threading.Event)
    failures: list[BaseException] = field(default_factory=list)
    thread: threading.Thread | None = None

    @property
    def db(self) -> Database:
        return self.runtime.db

    def start(self) -> None:
        def run() -> None:
            try:
                start_socket_mode(self.app, APP_TOKEN, stop=self.stop)
            except BaseException as error:  # reported by stop_app / the fixture
                self.failures.append(error)

        self.thread = threading.Thread(target=run, name="rebuy-socket-mode", daemon=True)
        self.thread.start()

    def stop_app(self, timeout: float = WAIT) -> float:
        """Set `stop` and wait for start_socket_mode to return; seconds it took."""
        started = time.monotonic()
        self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout)
            assert not self.thread.is_alive(), f"start_socket_mode still running after {timeout}s"
        assert self.failures == [], f"start_socket_mode raised: {self.failures!r}"
        return time.monotonic() - started

    def quiesce(self) -> None:
        """Let every listener already started finish; nothing can happen after this."""
        self.app.listener_runner.listener_executor.shutdown(wait=True)

    def response(self, response_url: str) -> dict[str, Any]:
        """The first post to `response_url` (waits for it)."""
        deadline = time.monotonic() + WAIT
        while True:
            posts = [
                call
                for call in self.slack.calls_to("response_url")
                if call["response_url"] == response_url
            ]
            if posts:
                return posts[0]
            seen = len(self.slack.calls_to("response_url"))
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"nothing was posted to {response_url} within {WAIT}s")
            try:
                self.slack.wait_for("response_url", seen + 1, timeout=left)
            except AssertionError:
                continue


def seed_acme(db: Database) -> int:
    with db.transaction() as session:
        ana = f.rep(session, "ana@seller.example", name="Ana Lima", slack_user_id=ANA)
        acme = f.account(session, "Acme Corp", owner_id=ana.id, annual_value=50_000)
        f.order(session, acme, "2025-05-01", 800)
        return acme.id
