"""Reacting to a reminder, end to end: a reminder sweep posts to the Slack double, then
signed Events API requests go through the real HTTP endpoint (waitress + Bolt) and the
touch lands in the database exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.listener.listener_completion_handler import ListenerCompletionHandler
from sqlmodel import select

from bot.app import create_app
from bot.db import Database
from bot.http_front import make_wsgi_app
from bot.reminders import run_sweep
from bot.retention.due import due_by_rep
from bot.runtime import Runtime
from bot.server import HttpServer, start_http_server
from models import ReminderMessage, Snooze, Touch
from tests.doubles.slack_double import SlackDouble
from tests.support.factories import NOW
from tests.support.reminders import (
    SECRET,
    client_for,
    due_account,
    fast_pacer,
    linked_rep,
    make_runtime,
)
from tests.support.slack_signing import JSON, event_callback_body, post_signed, reaction_event

pytestmark = [pytest.mark.slow, pytest.mark.both_databases]  # writes through Slack


class Completions(ListenerCompletionHandler):
    """Bolt calls this after every listener run: which events were fully handled."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self._cond = threading.Condition()

    def handle(self, request: BoltRequest, response: BoltResponse | None) -> None:
        with self._cond:
            self.seen[(request.body or {}).get("event_id", "?")] += 1
            self._cond.notify_all()

    def wait(self, event_id: str, timeout: float = 5.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.seen[event_id] > 0, timeout):
                raise AssertionError(f"event {event_id} was not handled within {timeout}s")


@dataclass
class Workspace:
    runtime: Runtime
    app: App
    completions: Completions
    server: HttpServer
    double: SlackDouble
    header: ReminderMessage
    first: ReminderMessage  # the account messages of today's reminder
    second: ReminderMessage
    rep_id: int

    def send(
        self, event: dict, event_id: str, *, retry_num: int | None = None, wait: bool = True
    ) -> None:
        status, _, _ = post_signed(
            self.server.url,
            event_callback_body(event, event_id),
            JSON,
            SECRET,
            retry_num=retry_num,
        )
        assert status == 200
        if wait:
            self.handled(event_id)

    def handled(self, event_id: str) -> None:
        """Wait until a listener finished with `event_id`."""
        self.completions.wait(event_id)

    def quiesce(self) -> None:
        """Let every listener already started finish (nothing can happen after this)."""
        self.app.listener_runner.listener_executor.shutdown(wait=True)

    def react(self, name: str, message: ReminderMessage, *, removed: bool = False) -> dict:
        return reaction_event(
            name, user_id="U1", channel_id=message.channel, ts=message.ts, removed=removed
        )

    def touches(self) -> list[Touch]:
        with self.runtime.db.session() as session:
            return list(session.exec(select(Touch).where(Touch.source == "reaction")))

    def updates(self) -> list[dict]:
        return self.double.calls_to("chat.update")


@pytest.fixture
def workspace(db: Database) -> Iterator[Workspace]:
    with SlackDouble() as double:
        with db.transaction() as session:
            rep = linked_rep(session, "U1")
            due_account(session, rep, "Acme Supply", value=40_000)
            due_account(session, rep, "Beta Tools")
        runtime = make_runtime(db, double)
        client = client_for(runtime)
        assert run_sweep(runtime, client, pacer=fast_pacer()).sent == 1
        with db.session() as session:
            header, first, second = session.exec(
                select(ReminderMessage).order_by(ReminderMessage.position)
            ).all()
        app = create_app(runtime, client=client)
        completions = Completions()
        app.listener_runner.listener_completion_handler = completions
        server = start_http_server(
            make_wsgi_app(app, signing_secret=SECRET), host="127.0.0.1", port=0, threads=4
        )
        try:
            yield Workspace(
                runtime, app, completions, server, double, header, first, second, rep.id
            )
        finally:
            server.stop()
            app.listener_runner.listener_executor.shutdown(wait=True)


def _contexts(update: dict) -> list[str]:
    return [
        element["text"]
        for block in update["blocks"]
        if block["type"] == "context"
        for element in block["elements"]
    ]


def test_a_reaction_logs_one_touch_and_removing_it_takes_it_back(workspace: Workspace) -> None:
    first = workspace.first

    workspace.send(workspace.react("phone", first), "Ev1")

    (touch,) = workspace.touches()
    assert (touch.account_id, touch.kind, touch.rep_id, touch.slack_user_id) == (
        first.account_id,
        "call",
        workspace.rep_id,
        "U1",
    )
    assert touch.tactic_id == first.tactic_id and touch.tactic_id  # the tactic shown
    (update,) = workspace.double.wait_for("chat.update", 1)
    assert (update["channel"], update["ts"]) == (first.channel, first.ts)
    assert "📞 Call logged by <@U1>" in _contexts(update)
    assert update["text"] == first.text

    # Slack retries the same delivery (same event_id, X-Slack-Retry-Num): nothing more.
    workspace.send(workspace.react("phone", first), "Ev1", retry_num=1, wait=False)
    # A second, different delivery of the same reaction: nothing more either.
    workspace.send(workspace.react("phone", first), "Ev2")
    assert len(workspace.touches()) == 1
    assert len(workspace.updates()) == 1

    workspace.send(workspace.react("phone", first, removed=True), "Ev3")

    assert workspace.touches() == []
    updates = workspace.double.wait_for("chat.update", 2)
    assert not any("logged by" in text for text in _contexts(updates[-1]))
    workspace.quiesce()
    assert workspace.touches() == []  # no late duplicate brought the touch back
    assert len(workspace.updates()) == 2
    assert workspace.completions.seen == {"Ev1": 1, "Ev2": 1, "Ev3": 1}  # the retry: dropped


def test_a_retry_racing_the_first_delivery_logs_one_touch(workspace: Workspace) -> None:
    event = workspace.react("handshake::skin-tone-3", workspace.first)
    threads = [
        threading.Thread(
            target=workspace.send, args=(event, "EvRace"), kwargs={"retry_num": n, "wait": False}
        )
        for n in (None, 1, 2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    workspace.handled("EvRace")
    workspace.quiesce()

    (touch,) = workspace.touches()
    assert touch.kind == "meeting"
    assert len(workspace.updates()) == 1


def test_concurrent_duplicate_deliveries_log_one_touch(workspace: Workspace) -> None:
    event = workspace.react("white_check_mark", workspace.first)
    threads = [
        threading.Thread(target=workspace.send, args=(event, f"EvDup{n}"), kwargs={"wait": False})
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    for n in range(4):
        workspace.handled(f"EvDup{n}")
    workspace.quiesce()

    (touch,) = workspace.touches()
    assert touch.kind == "note"
    assert len(workspace.updates()) == 1


def test_zzz_snoozes_the_account_for_a_week(workspace: Workspace) -> None:
    second = workspace.second

    workspace.send(workspace.react("zzz", second), "EvZ")

    with workspace.runtime.db.session() as session:
        (snooze,) = session.exec(select(Snooze)).all()
        assert (snooze.account_id, snooze.until) == (
            second.account_id,
            NOW.date() + timedelta(days=7),
        )
        due = due_by_rep(
            session=session,
            as_of=NOW.date(),
            now=NOW,
            tier_cadence=workspace.runtime.tier_cadence,
            limit=6,
        )
    assert [item.account_id for item in due[workspace.rep_id]] == [workspace.first.account_id]
    assert workspace.touches() == []
    (update,) = workspace.double.wait_for("chat.update", 1)
    assert update["ts"] == second.ts
    assert "💤 Snoozed until 22 Jun by <@U1>" in _contexts(update)


def test_reactions_on_other_messages_and_other_emoji_are_ignored(workspace: Workspace) -> None:
    workspace.send(workspace.react("phone", workspace.header), "EvHeader")
    workspace.send(
        {**workspace.react("phone", workspace.first), "item": {"type": "message", "channel": "C9"}},
        "EvNoTs",
    )
    workspace.send(
        workspace.react("phone", workspace.first) | {"item": {**_item(workspace), "ts": "1.2"}},
        "EvOtherTs",
    )
    workspace.send(workspace.react("tada", workspace.first), "EvTada")
    workspace.quiesce()

    assert workspace.touches() == []
    assert workspace.updates() == []
    with workspace.runtime.db.session() as session:
        assert session.exec(select(Snooze)).all() == []


def _item(workspace: Workspace) -> dict:
    return {"type": "message", "channel": workspace.first.channel, "ts": workspace.first.ts}
