"""Send Slack-shaped, signed HTTP requests to a running Rebuy server.

Builders return the raw body Slack would send (bytes); post it with
`post_signed(server.url, body, FORM or JSON, secret)`:

    body = slash_command_body(text="acme", response_url=slack.response_url())
    status, headers, reply = post_signed(server.url, body, FORM, "secret")

Shapes follow Slack's documented payloads: slash commands are form fields,
interactivity is a form field `payload=` holding JSON, events are JSON.
Signatures are computed here with hmac (not with slack_sdk), so the server's
verification is checked against an independent implementation.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import itertools
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

from tests.support.block_kit_rules import check_message, check_view

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

TEAM_ID = "T123"
TEAM_DOMAIN = "test"
APP_ID = "A123"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
USER_ID = "U123"
CHANNEL_ID = "C123"
VERIFICATION_TOKEN = "legacy-verification-token"
# Never a real Slack host: a handler that calls respond() without the test
# passing `response_url=slack.response_url()` fails fast instead of leaving the machine.
UNSET_RESPONSE_URL = "http://127.0.0.1:9/commands/T123/0/unset"
STALE_SECONDS = 6 * 60  # Slack (and Bolt) refuse requests older than 5 minutes

_ids = itertools.count(1)


def _next_id() -> int:
    return next(_ids)


def new_trigger_id() -> str:
    """A fresh trigger_id in Slack's format."""
    n = _next_id()
    return f"{1_000_000 + n}.{2_000_000 + n}.{n:032x}"


def sign(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 signature headers for `body` (timestamp defaults to now)."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


# --------------------------------------------------------------------------- payload builders


def _user(user_id: str, user_name: str | None) -> dict[str, str]:
    name = user_name or user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": TEAM_ID}


def _interactive(payload: Mapping[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def slash_command_body(
    command: str = "/account",
    text: str = "",
    *,
    user_id: str = USER_ID,
    user_name: str | None = None,
    channel_id: str = CHANNEL_ID,
    channel_name: str = "general",
    response_url: str = UNSET_RESPONSE_URL,
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
) -> bytes:
    """A slash command invocation, form-encoded as Slack sends it."""
    return urlencode(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "team_domain": TEAM_DOMAIN,
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id or new_trigger_id(),
        }
    ).encode()


def block_actions_body(
    action_id: str,
    value: str | None = None,
    *,
    user_id: str = USER_ID,
    user_name: str | None = None,
    block_id: str = "actions",
    action_type: str = "button",
    selected_option: Mapping[str, Any] | None = None,
    channel_id: str = CHANNEL_ID,
    message: Mapping[str, Any] | None = None,
    view: Mapping[str, Any] | None = None,
    container: Mapping[str, Any] | None = None,
    state_values: Mapping[str, Any] | None = None,
    response_url: str = UNSET_RESPONSE_URL,
    trigger_id: str | None = None,
) -> bytes:
    """A `block_actions` payload: a button (or select) clicked in a message or a view.

    With `view`, the click came from a modal or the App Home (container type
    `view`, no channel or response_url); otherwise from `message` in
    `channel_id` (a minimal bot message when not given).
    """
    action: dict[str, Any] = {
        "type": action_type,
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": f"{time.time():.6f}",
    }
    if value is not None:
        action["value"] = value
    if action_type == "button":
        action["text"] = {"type": "plain_text", "text": action_id, "emoji": True}
    if selected_option is not None:
        action["selected_option"] = dict(selected_option)
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, user_name),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [action],
    }
    if view is not None:
        full_view = {
            "id": "V0000000001",
            "team_id": TEAM_ID,
            "type": "modal",
            "private_metadata": "",
            "callback_id": "",
            "blocks": [],
            "state": {"values": dict(state_values or {})},
            "hash": "1700000000.abcdef",
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            **view,
        }
        payload["view"] = full_view
        payload["container"] = dict(container or {"type": "view", "view_id": full_view["id"]})
        payload["state"] = full_view["state"]
    else:
        full_message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "ts": "1700000000.000100",
            "text": "",
            "blocks": [],
            **(message or {}),
        }
        payload["message"] = full_message
        payload["channel"] = {"id": channel_id, "name": "directmessage"}
        payload["container"] = dict(
            container
            or {
                "type": "message",
                "message_ts": full_message["ts"],
                "channel_id": channel_id,
                "is_ephemeral": False,
            }
        )
        payload["state"] = {"values": dict(state_values or {})}
        payload["response_url"] = response_url
    return _interactive(payload)


_VIEW_IDS = itertools.count(1)


def view_submission_body(
    callback_id: str,
    state_values: Mapping[str, Any] | None = None,
    private_metadata: str = "",
    *,
    user_id: str = USER_ID,
    user_name: str | None = None,
    view_id: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
    trigger_id: str | None = None,
) -> bytes:
    """A modal's `view_submission` payload.

    `state_values` is `{block_id: {action_id: <element state>}}`; build element
    states with `text_input`, `static_select`, `datepicker`, `users_select`. Every
    submission is of a modal of its own (a new view id, as Slack gives each opened
    modal) unless `view_id` names one.
    """
    view_id = view_id or f"V{next(_VIEW_IDS):010d}"
    view = {
        "id": view_id,
        "team_id": TEAM_ID,
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": private_metadata,
        "blocks": blocks or [],
        "state": {"values": dict(state_values or {})},
        "hash": "1700000000.abcdef",
        "title": {"type": "plain_text", "text": "Rebuy"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "clear_on_close": False,
        "notify_on_close": False,
        "previous_view_id": None,
        "root_view_id": view_id,
        "external_id": "",
        "app_id": APP_ID,
        "app_installed_team_id": TEAM_ID,
        "bot_id": BOT_ID,
    }
    return _interactive(
        {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
            "user": _user(user_id, user_name),
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": trigger_id or new_trigger_id(),
            "view": view,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
    )


def text_input(value: str | None) -> dict[str, Any]:
    """State of a plain_text_input element."""
    return {"type": "plain_text_input", "value": value}


def static_select(value: str, text: str | None = None) -> dict[str, Any]:
    """State of a static_select element with `value` chosen."""
    option = {"text": {"type": "plain_text", "text": text or value, "emoji": True}, "value": value}
    return {"type": "static_select", "selected_option": option}


def datepicker(date: str | None) -> dict[str, Any]:
    """State of a datepicker element (`date` as YYYY-MM-DD)."""
    return {"type": "datepicker", "selected_date": date}


def users_select(user_id: str | None) -> dict[str, Any]:
    """State of a users_select element."""
    return {"type": "users_select", "selected_user": user_id}


def event_callback_body(
    event: Mapping[str, Any],
    event_id: str | None = None,
    event_time: int | None = None,
    *,
    team_id: str = TEAM_ID,
) -> bytes:
    """An Events API `event_callback` envelope around `event` (JSON)."""
    return json.dumps(
        {
            "token": VERIFICATION_TOKEN,
            "team_id": team_id,
            "api_app_id": APP_ID,
            "event": dict(event),
            "type": "event_callback",
            "event_id": event_id or f"Ev{_next_id():010d}",
            "event_time": int(time.time()) if event_time is None else event_time,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{_next_id():020d}",
        }
    ).encode()


def url_verification_body(challenge: str = "challenge-token") -> bytes:
    """The handshake Slack sends when the events URL is configured."""
    return json.dumps(
        {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    ).encode()


def reaction_event(
    reaction: str,
    *,
    user_id: str = USER_ID,
    channel_id: str = f"D{USER_ID}",
    ts: str = "1700000000.000100",
    item_user: str = BOT_USER_ID,
    removed: bool = False,
) -> dict[str, Any]:
    """A `reaction_added` (or, with `removed=True`, `reaction_removed`) event."""
    return {
        "type": "reaction_removed" if removed else "reaction_added",
        "user": user_id,
        "reaction": reaction,
        "item_user": item_user,
        "item": {"type": "message", "channel": channel_id, "ts": ts},
        "event_ts": f"{time.time():.6f}",
    }


def app_home_opened_event(user_id: str = USER_ID, tab: str = "home") -> dict[str, Any]:
    """An `app_home_opened` event."""
    return {
        "type": "app_home_opened",
        "user": user_id,
        "channel": f"D{user_id}",
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }


# --------------------------------------------------------------------------- sending


def post_signed(
    base_url: str,
    body: bytes,
    content_type: str,
    secret: str,
    timestamp: int | None = None,
    extra_headers: Mapping[str, str] | None = None,
    *,
    path: str = "/slack/events",
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
    stale: bool = False,
    forged: bool = False,
    timeout: float = 10.0,
    check_reply: bool = True,
) -> tuple[int, dict[str, str], bytes]:
    """POST `body` signed like Slack; returns `(status, headers, body)`, header names lower-case.

    `base_url` is the server root (`path` is appended) or a full URL with a path.
    `stale=True` signs correctly with a timestamp six minutes old (a replay);
    `forged=True` signs with the wrong secret. `retry_num` adds Slack's
    `X-Slack-Retry-Num` / `X-Slack-Retry-Reason` headers. With `check_reply` (the
    default) an ack Slack would refuse fails the test (see `check_ack`).
    """
    if timestamp is None:
        timestamp = int(time.time()) - (STALE_SECONDS if stale else 0)
    headers = {
        "Content-Type": content_type,
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        **sign(body, f"forged-{secret}" if forged else secret, timestamp),
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    headers.update(extra_headers or {})

    url = urlsplit(base_url)
    target = url.path if url.path not in ("", "/") else path
    if url.query:
        target = f"{target}?{url.query}"
    connection_class = (
        http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(url.netloc, timeout=timeout)
    try:
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        answer = (
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            response.read(),
        )
    finally:
        connection.close()
    if check_reply:
        check_ack(body, *answer)
    return answer


# Complexity over 12 on purpose: one check per rule Slack applies to an ack, in Slack's order.
def check_ack(  # noqa: C901
    request: bytes,
    status: int,
    headers: Mapping[str, str],
    reply: bytes,
) -> None:
    """Fail the test when Slack would refuse what the app acked with.

    A command ack that carries a message is checked like a response_url post (Slack
    answers a bad one `invalid_command_response` and shows the user nothing); a
    `view_submission` ack with `response_action` `update` / `push` is checked like
    views.update / views.push, and `errors` must name blocks by string."""
    if status != 200 or not reply.strip():
        return
    if not headers.get("content-type", "").startswith("application/json"):
        return
    try:
        ack = json.loads(reply)
    except ValueError:
        raise AssertionError(f"the ack is not JSON: {reply[:200]!r}") from None
    if not isinstance(ack, dict):
        raise AssertionError(f"the ack is not a JSON object: {reply[:200]!r}")
    action = ack.get("response_action")
    if action in ("update", "push"):
        verdict = check_view(ack.get("view"))
        if not verdict.ok:
            raise AssertionError(f"Slack would refuse this {action}: {list(verdict.errors)}")
    elif action == "errors":
        errors = ack.get("errors")
        if not (isinstance(errors, dict) and errors):
            raise AssertionError(f"response_action errors needs a non-empty object: {ack}")
        if not all(isinstance(v, str) and v for v in errors.values()):
            raise AssertionError(f"every error must be a non-empty string: {errors}")
    elif action is not None and action != "clear":
        raise AssertionError(f"unknown response_action {action!r}")
    elif "blocks" in ack or "text" in ack:
        verdict = check_message(ack)
        if not verdict.ok:
            command = b"command=" in request
            error = "invalid_command_response" if command else "invalid_blocks"
            raise AssertionError(f"Slack would answer {error}: {list(verdict.errors)}")


def get(base_url: str, path: str, *, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """A plain GET (health checks, 404s); same return shape as `post_signed`."""
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.netloc, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return (
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            response.read(),
        )
    finally:
        connection.close()
