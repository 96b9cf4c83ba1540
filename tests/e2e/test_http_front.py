"""The HTTP front: every request to /slack/events is verified before Bolt sees it.

Unsigned, forged or stale requests get 401 and signed but malformed ones 400, never a
500; nothing from a refused request reaches a listener or leaves the machine (the Slack
double receives no call at all), and each refusal is one short log line, never the body.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from slack_bolt.request import BoltRequest

from bot.server import start_http_server
from tests.support.slack_app import SECRET, SlackApp
from tests.support.slack_signing import (
    FORM,
    JSON,
    event_callback_body,
    get,
    post_signed,
    sign,
    slash_command_body,
    view_submission_body,
)

REFUSAL_LOG_LIMIT = 300  # bytes of log a refused request may cost


def _post_raw(
    slack_app: SlackApp, body: bytes, headers: dict[str, str], content_type: str = FORM
) -> int:
    """POST with exactly these Slack headers (no signing of our own)."""
    import http.client

    connection = http.client.HTTPConnection(f"127.0.0.1:{slack_app.server.port}", timeout=10)
    try:
        connection.request(
            "POST", "/slack/events", body=body, headers={"Content-Type": content_type, **headers}
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _attack_bodies(slack_app: SlackApp) -> list[tuple[bytes, str]]:
    """Bodies naming a response_url and a user the server must never contact."""
    command = slash_command_body(text="acme", response_url=slack_app.new_response_url())
    modal = view_submission_body("account_plan", {}, "{}", user_id="UVICTIM")
    return [(command, FORM), (modal, FORM)]


def _calls_after(slack_app: SlackApp, before: int) -> list[str]:
    slack_app.settle()  # anything a listener or error handler would send is sent now
    return [method for method, _ in slack_app.double.calls[before:]]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": "1700000000.5", "X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": "9" * 5000, "X-Slack-Signature": "v0=00"},
        {"X-Slack-Signature": "v0=00"},
        {"X-Slack-Request-Timestamp": "now"},
    ],
    ids=["none", "abc", "empty", "decimal", "huge", "no-timestamp", "no-signature"],
)
def test_unverifiable_requests_get_401_and_nothing_is_sent(
    slack_app: SlackApp, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    before = len(slack_app.double.calls)
    caplog.set_level(logging.DEBUG)

    statuses = [
        _post_raw(slack_app, body, headers, ctype) for body, ctype in _attack_bodies(slack_app)
    ]

    assert statuses == [401, 401]
    assert _calls_after(slack_app, before) == []
    assert "Traceback" not in caplog.text
    assert "UVICTIM" not in caplog.text


def test_a_decimal_timestamp_correctly_signed_is_still_401(slack_app: SlackApp) -> None:
    body, ctype = _attack_bodies(slack_app)[0]
    timestamp = f"{time.time():.3f}"
    signature = sign(body, SECRET, 0)["X-Slack-Signature"]  # any: the timestamp fails first
    before = len(slack_app.double.calls)

    status = _post_raw(
        slack_app,
        body,
        {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature},
        ctype,
    )

    assert status == 401
    assert _calls_after(slack_app, before) == []


@pytest.mark.parametrize("how", ["forged", "stale"])
def test_forged_and_stale_requests_get_401_and_nothing_is_sent(
    slack_app: SlackApp, how: str
) -> None:
    before = len(slack_app.double.calls)

    statuses = [
        post_signed(slack_app.url, body, ctype, SECRET, **{how: True})[0]
        for body, ctype in _attack_bodies(slack_app)
    ]

    assert statuses == [401, 401]
    assert _calls_after(slack_app, before) == []


def _deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def _action(**changes) -> dict:
    payload = {
        "type": "block_actions",
        "user": {"id": "U1"},
        "team": {"id": "T123"},
        "response_url": "http://127.0.0.1:9/never",
        "actions": [{"action_id": "account_show", "value": "1"}],
    }
    return {**payload, **changes}


def _submission(**changes) -> dict:
    payload = {
        "type": "view_submission",
        "user": {"id": "U1"},
        "team": {"id": "T123"},
        "view": {"callback_id": "touch_log_modal", "state": {"values": {}}},
    }
    return {**payload, **changes}


MALFORMED: dict[str, tuple[bytes, str]] = {
    "broken json": (b'{"type": "event_callback", ', JSON),
    "json array": (b'[{"type": "event_callback"}]', JSON),
    "deep nesting": (('{"type": "x", "a": ' + _deep(5000) + "}").encode(), JSON),
    "moderately deep": (('{"type": "x", "a": ' + _deep(200) + "}").encode(), JSON),
    "json without type": (b'{"event": {"type": "reaction_added"}}', JSON),
    "event null": (json.dumps({"type": "event_callback", "event": None}).encode(), JSON),
    "event without type": (json.dumps({"type": "event_callback", "event": {}}).encode(), JSON),
    "form sent as json": (slash_command_body(text="acme"), JSON),
    "json sent as form": (event_callback_body({"type": "reaction_added"}), FORM),
    "bad payload=": (urlencode({"payload": "{not json"}).encode(), FORM),
    "payload array": (urlencode({"payload": "[1, 2]"}).encode(), FORM),
    "two payloads": (
        b"payload=%7B%22type%22%3A%22a%22%7D&payload=%7B%22type%22%3A%22b%22%7D",
        FORM,
    ),
    "empty body": (b"", FORM),
    # Well-formed JSON whose inside is not what Slack sends (found by the review).
    **{
        f"{kind}: {what}": (urlencode({"payload": json.dumps(payload)}).encode(), FORM)
        for kind, what, payload in (
            ("block_actions", "actions a string", _action(actions="x")),
            ("block_actions", "an empty action", _action(actions=[{}])),
            ("block_actions", "actions null", _action(actions=None)),
            ("block_actions", "no actions", _action(actions=[])),
            ("block_actions", "user null", _action(user=None)),
            ("view_submission", "view a string", _submission(view="x")),
            ("view_submission", "view null", _submission(view=None)),
            (
                "view_submission",
                "state values not objects",
                _submission(view={"callback_id": "touch_log_modal", "state": {"values": {"b": 1}}}),
            ),
            (
                "view_submission",
                "metadata not text",
                _submission(
                    view={
                        "callback_id": "touch_log_modal",
                        "state": {"values": {}},
                        "private_metadata": {"id": 1},
                    }
                ),
            ),
        )
    },
    "app_home_opened without a user": (
        event_callback_body({"type": "app_home_opened", "tab": "home"}),
        JSON,
    ),
    "app_home_opened with a number for a user": (
        event_callback_body({"type": "app_home_opened", "user": 5}),
        JSON,
    ),
    "reaction without an item": (
        event_callback_body({"type": "reaction_added", "user": "U1", "reaction": "phone"}),
        JSON,
    ),
    "command without a response_url": (
        urlencode({"command": "/account", "text": "acme", "user_id": "U1"}).encode(),
        FORM,
    ),
    "command with its text twice": (
        b"command=%2Faccount&user_id=U1&response_url=https%3A%2F%2Fhooks.slack.com%2Fx"
        b"&text=acme&text=zeta",
        FORM,
    ),
    "command without a user_id": (
        urlencode({"command": "/account", "text": "acme", "team_id": "T123"}).encode(),
        FORM,
    ),
    "unknown content type": (b'{"type": "event_callback"}', "text/plain"),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_signed_but_malformed_bodies_get_400_never_500(
    slack_app: SlackApp, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    body, content_type = MALFORMED[case]
    before = len(slack_app.double.calls)
    caplog.set_level(logging.DEBUG)

    status, _, reply = post_signed(slack_app.url, body, content_type, SECRET)

    assert status == 400, reply
    assert json.loads(reply)["ok"] is False
    assert _calls_after(slack_app, before) == []
    assert "Traceback" not in caplog.text


def test_a_refusal_costs_one_short_log_line_whatever_the_body_size(
    slack_app: SlackApp, caplog: pytest.LogCaptureFixture
) -> None:
    marker = "NEVER-IN-THE-LOG"
    body = urlencode({"command": "/account", "text": marker * 50_000}).encode()  # ~0.8 MB
    caplog.set_level(logging.DEBUG)

    forged = post_signed(slack_app.url, body, FORM, SECRET, forged=True)[0]
    malformed = post_signed(slack_app.url, body, JSON, SECRET)[0]

    assert (forged, malformed) == (401, 400)
    records = [r for r in caplog.records if r.name == "bot.http_front"]
    assert len(records) == 2
    assert all(len(r.getMessage()) < REFUSAL_LOG_LIMIT for r in records)
    assert marker not in caplog.text


def test_a_body_over_the_size_cap_is_refused_without_being_read(slack_app: SlackApp) -> None:
    before = len(slack_app.double.calls)
    with socket.create_connection(("127.0.0.1", slack_app.server.port), timeout=10) as sock:
        # Announce 4 MB and send none of it: the answer comes from the headers alone.
        sock.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: 4194304\r\n\r\n"
        )
        status_line = sock.recv(200).split(b"\r\n", 1)[0]

    assert status_line.split()[1] == b"413"
    assert _calls_after(slack_app, before) == []


def test_a_body_that_is_not_utf8_is_401_it_cannot_be_verified(slack_app: SlackApp) -> None:
    """Slack signs UTF-8 text only, and slack_sdk's verifier cannot check anything else:
    such a body is unverified, whoever claims to have signed it."""
    body = b"command=%2Faccount&text=\xff\xfe"
    before = len(slack_app.double.calls)

    signed = post_signed(slack_app.url, body, FORM, SECRET)[0]
    unsigned = _post_raw(slack_app, body, {})

    assert (signed, unsigned) == (401, 401)
    assert _calls_after(slack_app, before) == []


def test_a_verified_command_still_works_through_the_front(slack_app: SlackApp) -> None:
    status, reply = slack_app.command("help")

    assert status == 200
    assert reply is not None and reply["response_type"] == "ephemeral"


def test_bolt_error_handler_never_answers_an_unverified_request(slack_app: SlackApp) -> None:
    """Behind the front Bolt verifies again; if that raises, nothing may be sent."""
    response_url = slack_app.new_response_url()
    body = slash_command_body(text="acme", response_url=response_url).decode()
    before = len(slack_app.double.calls)

    response = slack_app.app.dispatch(
        BoltRequest(
            body=body,
            headers={
                "content-type": FORM,
                "x-slack-request-timestamp": "abc",
                "x-slack-signature": "v0=00",
            },
        )
    )

    assert response.status in (401, 500)
    assert _calls_after(slack_app, before) == []


def test_an_error_in_a_verified_request_is_still_answered(
    slack_app: SlackApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.retention.account_ops

    def broken(**_kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(bot.retention.account_ops, "recency_report", broken)

    status, reply = slack_app.command("report")

    assert status == 200
    assert reply is not None and reply["text"].startswith("⚠️ Sorry")


# --------------------------------------------------------------------------- slow clients

HALF_REQUEST = (
    b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n\r\ncommand="
)


def _stalled_clients(port: int, count: int) -> list[socket.socket]:
    clients = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(HALF_REQUEST)
        clients.append(sock)
    return clients


def test_150_stalled_clients_do_not_lock_out_commands_or_healthz(slack_app: SlackApp) -> None:
    clients = _stalled_clients(slack_app.server.port, 150)
    try:
        started = time.monotonic()
        health = get(slack_app.url, "/healthz", timeout=5)[0]
        status, reply = slack_app.command("help")
        took = time.monotonic() - started
    finally:
        for sock in clients:
            sock.close()

    assert health == 200
    assert status == 200 and reply is not None
    assert took < 3


def test_stalled_clients_are_dropped_after_the_channel_timeout() -> None:
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    with start_http_server(app, host="127.0.0.1", port=0, threads=2, channel_timeout=1) as http:
        clients = _stalled_clients(http.port, 20)
        try:
            deadline = time.monotonic() + 8
            closed = 0
            for sock in clients:
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                with contextlib.suppress(TimeoutError):
                    closed += sock.recv(100) == b""
        finally:
            for sock in clients:
                sock.close()

    assert closed == 20
