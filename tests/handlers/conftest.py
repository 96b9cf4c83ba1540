"""The middle layer: listeners called directly, with fakes for Slack (`ack`, the
response_url, the Web API client, the Home publisher) and a real database (the `db`
fixture: SQLite, and PostgreSQL when reachable). No HTTP server, no Bolt App.

    def test_card(job):
        ...
        commands.answer_command(job(command("acme")))
        assert replies.last["blocks"][0]["text"]["text"] == "Acme Corp"
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import handlers
from bot.clock import fixed_clock
from bot.db import Database
from bot.runtime import Runtime
from bot.settings import Settings
from handlers.work import Job, Work
from tests.support.factories import NOW

ANA = "UANA"
ADMIN = "UADMIN"
_ids = itertools.count(1)


class FakeAck:
    """Bolt's `ack`: records each call's arguments."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(kwargs)

    @property
    def errors(self) -> dict[str, str] | None:
        return self.calls[-1].get("errors") if self.calls else None


class FakeReply:
    """A response_url: records every payload posted to it."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []

    def __call__(self, **payload: Any) -> None:
        self.posts.append(payload)

    @property
    def last(self) -> dict[str, Any]:
        assert self.posts, "nothing was posted to the response_url"
        return self.posts[-1]


class FakeClient:
    """The Web API client: records calls as (method, arguments); answers ok."""

    def __init__(self, users: dict[str, dict] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.users = users or {}

    def _record(self, method: str, **kwargs: Any) -> dict[str, Any]:
        self.calls.append((method, kwargs))
        return {"ok": True}

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == method]

    def views_open(self, **kwargs: Any) -> dict:
        return self._record("views.open", **kwargs)

    def views_publish(self, **kwargs: Any) -> dict:
        return self._record("views.publish", **kwargs)

    def chat_postMessage(self, **kwargs: Any) -> dict:
        return self._record("chat.postMessage", **kwargs)

    def chat_postEphemeral(self, **kwargs: Any) -> dict:
        return self._record("chat.postEphemeral", **kwargs)

    def chat_update(self, **kwargs: Any) -> dict:
        return self._record("chat.update", **kwargs)

    def users_info(self, *, user: str) -> dict:
        self.calls.append(("users.info", {"user": user}))
        return {"ok": True, "user": self.users.get(user, {"id": user, "profile": {}})}


class FakeHomes:
    """The App Home publisher: records who asked for a refresh."""

    def __init__(self) -> None:
        self.requested: list[str] = []

    def request(self, client: Any, user_id: str) -> None:
        self.requested.append(user_id)


@pytest.fixture
def runtime(db: Database) -> Runtime:
    return Runtime(
        settings=Settings(
            _env_file=None,
            slack_bot_token="xoxb-test",
            slack_signing_secret="secret",
            admin_user_ids=frozenset({ADMIN}),
            rebuy_now=NOW,
        ),
        db=db,
        clock=fixed_clock(NOW),
    )


@pytest.fixture
def client() -> FakeClient:
    return FakeClient()


@pytest.fixture
def replies() -> FakeReply:
    return FakeReply()


@pytest.fixture
def homes() -> FakeHomes:
    return FakeHomes()


@pytest.fixture
def work() -> Iterator[Work]:
    work = Work()
    yield work
    work.shutdown()


@pytest.fixture
def job(runtime, client, replies, homes) -> Callable[..., Job]:
    """`job(body, **data)`: the work half of a listener, as `after_ack` builds it."""

    def make(body: dict, **data: Any) -> Job:
        return Job(runtime, client, body, data, replies, homes, handlers.subcommands())

    return make


# --------------------------------------------------------------------- Slack-shaped bodies


def command(text: str, *, user_id: str = ANA) -> dict:
    """A `/account TEXT` body."""
    n = next(_ids)
    return {
        "command": "/account",
        "text": text,
        "user_id": user_id,
        "channel_id": "C1",
        "response_url": f"https://hooks.slack.com/commands/T1/{n}",
        "trigger_id": f"trigger-{n}",
    }


def button(action_id: str, value: str, *, user_id: str = ANA, **fields: Any) -> dict:
    """A `block_actions` body for one button pressed in a message."""
    n = next(_ids)
    body = {
        "type": "block_actions",
        "user": {"id": user_id},
        "trigger_id": f"trigger-{n}",
        "response_url": f"https://hooks.slack.com/actions/T1/{n}",
        "container": {"type": "message", "channel_id": "C1", "message_ts": f"1.{n}"},
        "actions": [{"action_id": action_id, "value": value, "block_id": "actions"}],
    }
    body.update(fields)
    return body


def submission(callback_id: str, values: dict, metadata: dict, *, user_id: str = ANA):
    """(body, view) of a modal submitted with `values` ({block_id: element state})."""
    view = {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": json.dumps(metadata),
        "state": {"values": {block: {"value": state} for block, state in values.items()}},
    }
    return {"type": "view_submission", "user": {"id": user_id}, "view": view}, view


def texts(payload: dict) -> str:
    """Every text in a message or view (fallback text and blocks), joined."""
    found: list[str] = [payload.get("text") or ""]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload.get("blocks") or [])
    return "\n".join(found)
