"""The whole Slack app behind its real HTTP endpoint, for end-to-end tests.

The `slack_app` fixture (tests/conftest.py) builds a Runtime on the `db` fixture (SQLite
and PostgreSQL) with a fixed clock, creates the Bolt app with `create_app`, serves it
with waitress on a free port, and points its Web API client at the `double` fixture. Tests talk to
it only through signed HTTP requests shaped like Slack's:

    def test_card(slack_app):
        with slack_app.db.transaction() as session:
            factories.account(session, "Acme")
        status, reply = slack_app.command("acme")
        assert status == 200 and reply["response_type"] == "ephemeral"

Listeners run after the ack, so helpers that return a reply wait for the
response_url post (or a Web API call) with `SlackDouble.wait_for`, never sleep.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import App

from bot.app import create_app, finish_listeners
from bot.clock import fixed_clock
from bot.db import Database
from bot.http_front import make_wsgi_app
from bot.runtime import Runtime
from bot.server import HttpServer, start_http_server
from bot.settings import Settings
from handlers.work import Work
from tests.doubles.slack_double import SlackDouble
from tests.support.factories import NOW
from tests.support.slack_signing import (
    FORM,
    JSON,
    USER_ID,
    block_actions_body,
    event_callback_body,
    post_signed,
    slash_command_body,
    view_submission_body,
)

SECRET = "secret"
TOKEN = "xoxb-test"
ADMIN_ID = "UADMIN"
# How long a test waits for a listener's Web API call or response_url post.
WAIT = 5.0

_keys = itertools.count(1)


@dataclass
class SlackApp:
    """A running Rebuy Slack app plus helpers that speak to it like Slack does."""

    runtime: Runtime
    app: App
    server: HttpServer
    double: SlackDouble
    listeners: Work

    @property
    def db(self) -> Database:
        return self.runtime.db

    @property
    def url(self) -> str:
        return self.server.url

    # ------------------------------------------------------------------ raw sending

    def post(self, body: bytes, content_type: str = FORM, **options: Any) -> tuple[int, bytes]:
        """Sign and POST `body` to /slack/events; `(status, response body)`."""
        status, _headers, reply = post_signed(self.url, body, content_type, SECRET, **options)
        return status, reply

    def settle(self) -> None:
        """Stop serving and let every listener finish: after this, everything the app
        would send for the requests so far has been sent (no sleeping and hoping)."""
        shut_down(self)

    def new_response_url(self) -> str:
        return self.double.response_url(f"r{next(_keys)}")

    # ------------------------------------------------------------------ waiting

    def responses(self, response_url: str) -> list[dict[str, Any]]:
        """Everything posted so far to one response_url."""
        return [
            call
            for call in self.double.calls_to("response_url")
            if call["response_url"] == response_url
        ]

    def wait_response(
        self, response_url: str, count: int = 1, timeout: float = WAIT
    ) -> list[dict[str, Any]]:
        """Block until `count` posts reached `response_url`; returns them."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.responses(response_url)
            if len(found) >= count:
                return found
            seen = len(self.double.calls_to("response_url"))
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"expected {count} post(s) to {response_url} within {timeout}s, "
                    f"got {len(found)}; Web API calls: {[m for m, _ in self.double.calls]}"
                )
            try:
                self.double.wait_for("response_url", seen + 1, timeout=left)
            except AssertionError:
                continue  # the loop reports with a clearer message

    def wait_for(self, method: str, count: int = 1, timeout: float = WAIT) -> list[dict]:
        return self.double.wait_for(method, count, timeout=timeout)

    # ------------------------------------------------------------------ Slack-shaped requests

    def command(
        self, text: str, *, user_id: str = USER_ID, wait: bool = True, **options: Any
    ) -> tuple[int, dict[str, Any] | None]:
        """`/account TEXT`; returns the HTTP status and (with `wait`) the first reply."""
        response_url = self.new_response_url()
        body = slash_command_body(text=text, user_id=user_id, response_url=response_url)
        status, _ = self.post(body, FORM, **options)
        if not wait or status != 200:
            return status, None
        return status, self.wait_response(response_url)[0]

    def action(
        self,
        action_id: str,
        value: str | None = None,
        *,
        user_id: str = USER_ID,
        **fields: Any,
    ) -> tuple[int, str]:
        """A button click in a message; returns the status and the response_url used."""
        response_url = fields.pop("response_url", None) or self.new_response_url()
        body = block_actions_body(
            action_id, value, user_id=user_id, response_url=response_url, **fields
        )
        status, _ = self.post(body, FORM)
        return status, response_url

    def submit(
        self,
        callback_id: str,
        values: Mapping[str, Any],
        metadata: Mapping[str, Any] | str,
        *,
        user_id: str = USER_ID,
        view_id: str | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Submit a modal (a new one unless `view_id` names it); `values` is
        `{block_id: element state}` (action_id "value").

        Returns the status and the JSON body of the ack ({} for a plain ack), once the
        listener has finished the work it does after acking."""
        state = {block_id: {"value": element} for block_id, element in values.items()}
        meta = metadata if isinstance(metadata, str) else json.dumps(metadata)
        body = view_submission_body(callback_id, state, meta, user_id=user_id, view_id=view_id)
        finished = self.listeners.done
        status, reply = self.post(body, FORM)
        if status == 200:
            self.listeners.wait_beyond(finished)
        return status, json.loads(reply) if reply.strip() else {}

    def event(
        self, event: Mapping[str, Any], *, event_id: str | None = None, **options: Any
    ) -> int:
        """An Events API delivery; returns the HTTP status."""
        status, _ = self.post(event_callback_body(event, event_id), JSON, **options)
        return status


def build_runtime(
    db: Database, double: SlackDouble, *, now: datetime = NOW, **settings: Any
) -> Runtime:
    settings.setdefault("admin_user_ids", frozenset({ADMIN_ID}))
    return Runtime(
        settings=Settings(
            _env_file=None,
            slack_bot_token=TOKEN,
            slack_signing_secret=SECRET,
            slack_api_url=double.api_url,
            rebuy_now=now,
            **settings,
        ),
        db=db,
        clock=fixed_clock(now),
    )


def serve(runtime: Runtime, double: SlackDouble, *, threads: int = 8) -> SlackApp:
    app = create_app(runtime)
    # Listeners ack first and work afterwards: count the work finished.
    counter = app.services.work
    server = start_http_server(
        make_wsgi_app(app, signing_secret=SECRET), host="127.0.0.1", port=0, threads=threads
    )
    return SlackApp(runtime=runtime, app=app, server=server, double=double, listeners=counter)


def shut_down(slack_app: SlackApp) -> None:
    """Stop the HTTP server, then let every listener finish before the database goes away."""
    slack_app.server.stop()
    finish_listeners(slack_app.app, slack_app.runtime)


# ---------------------------------------------------------------------- reading Block Kit


def block_texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every text string inside `blocks` (sections, fields, context, headers, buttons)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return found


def mrkdwn_texts(payload: dict[str, Any]) -> list[str]:
    """The strings Slack parses as mrkdwn: mrkdwn objects and the fallback `text`."""
    found: list[str] = [payload["text"]] if isinstance(payload.get("text"), str) else []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(payload.get("blocks") or [])
    return found


def shown(text: str) -> str:
    """What a reader sees of mrkdwn made inert by escape: the zero-width
    non-joiners around `*`, `_`, `~` and backticks are invisible."""
    return text.replace("\u200c", "")


def all_text(payload: dict[str, Any]) -> str:
    """Fallback text and every block text, joined: for "does the reply say X" checks."""
    return "\n".join([payload.get("text") or "", *block_texts(payload.get("blocks") or [])])


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every button in `blocks` (in actions blocks and as section accessories)."""
    found = []
    for block in blocks:
        elements = [*block.get("elements", []), block.get("accessory") or {}]
        found += [e for e in elements if e.get("type") == "button"]
    return found
