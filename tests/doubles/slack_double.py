"""A local Slack Web API double: a real HTTP server that slack_sdk's WebClient talks to.

    with SlackDouble() as slack:
        client = WebClient(token="xoxb-test", base_url=slack.api_url)
        client.chat_postMessage(channel="C1", text="hi")
        assert slack.calls_to("chat.postMessage")[0]["text"] == "hi"

It answers like Slack does: Slack errors are HTTP 200 with `{"ok": false,
"error": ...}`; rate limits are HTTP 429 with an integer `Retry-After` header.
It keeps just enough state (users, messages per channel, views) for handlers
and reminder runs to be tested end to end, and it can inject failures, slow
answers and Slack-like rate limits.

What is recorded:
- `calls`: every request answered with HTTP 200 (including `ok: false`), as
  `(method, params)`. JSON-valued form fields (`blocks`, `view`, ...) are
  decoded, so params look the same whether the client sent JSON or a form.
  The token is never recorded. Posts to a `response_url` are recorded as
  method `"response_url"` with the URL under the `"response_url"` key.
- `rejected`: requests answered 429 or 5xx, as `(method, params, status)`:
  a message that was retried through two 500s shows up twice here and once
  in `calls`.

Socket Mode: set `socket_mode_url` (a `ws://` URL, or a function returning a
fresh one for each call) and `apps.connections.open` answers `{"ok": true,
"url": ...}` to an app-level (`xapp-`) token, as Slack does; other token types
get `not_allowed_token_type`. Unset, the method answers as before.
See `tests/doubles/socket_mode_double.py` for the WebSocket side.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from tests.support.block_kit_rules import check_message, check_metadata, check_view

TEAM_ID = "T123"
TEAM_NAME = "Test"
TEAM_DOMAIN = "test"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
APP_ID = "A123"

# Form fields that WebClient JSON-encodes; decoded before recording.
_JSON_FIELDS = frozenset({"blocks", "attachments", "view", "metadata"})
_RESPONSE_URL_USES = 5
# Errors that mean "Slack refuses this payload" (a product bug), not "the world changed".
_PAYLOAD_ERRORS = frozenset(
    {"invalid_blocks", "invalid_arguments", "invalid_metadata_format", "msg_too_long", "no_text"}
)
# Slack's documented minimum per-minute limits for the tiers Rebuy touches.
SLACK_METHOD_TIERS: Mapping[str, int] = {
    "users.list": 20,  # Tier 2
    "conversations.open": 50,  # Tier 3
    "conversations.history": 50,  # Tier 3
    "chat.update": 50,  # Tier 3
    "chat.delete": 50,  # Tier 3
    "reactions.add": 50,  # Tier 3
    "users.info": 100,  # Tier 4
    "users.profile.get": 100,  # Tier 4
    "users.lookupByEmail": 100,  # Tier 4
    "views.publish": 100,  # Tier 4
    "views.open": 100,  # Tier 4
}


@dataclass(frozen=True)
class RateLimits:
    """Slack-like limits: chat.postMessage per channel and per workspace, plus per-method tiers.

    Token buckets: a channel may burst `burst` messages, then gets one every
    `1 / per_channel_per_sec` seconds. `method_per_minute` (e.g.
    `SLACK_METHOD_TIERS`) limits other methods to N a minute with bursts of N.
    """

    per_channel_per_sec: float = 1.0
    burst: int = 3
    workspace_per_sec: float = 20.0
    workspace_burst: int | None = None
    method_per_minute: Mapping[str, int] = field(default_factory=dict)


class _TokenBucket:
    def __init__(self, rate_per_sec: float, capacity: float) -> None:
        self.rate = rate_per_sec
        self.capacity = max(1.0, capacity)
        self.tokens = self.capacity
        self.updated = time.monotonic()

    def wait_needed(self, now: float) -> float:
        """Seconds until a token is available (0 if one is available now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


@dataclass
class _Fault:
    method: str
    status: int
    error: str | None
    retry_after: int
    remaining: int | None  # None: forever
    channel: str | None
    user: str | None
    after: bool = False  # carry the call out, then fail (the answer is lost)
    drop: bool = False  # close the connection without answering

    def matches(self, method: str, params: Mapping[str, Any]) -> bool:
        if method != self.method:
            return False
        if self.channel is not None and params.get("channel") != self.channel:
            return False
        users = {
            params.get("user"),
            params.get("user_id"),
            *str(params.get("users", "")).split(","),
        }
        return self.user is None or self.user in users


@dataclass
class _Delay:
    seconds: float
    remaining: int | None


@dataclass
class _Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class SlackError(Exception):
    """Raised inside a method implementation to answer `{"ok": false, "error": ...}`.

    `errors` are Slack's per-problem strings (`invalid_blocks` lists them under
    `errors`; views list them as `response_metadata.messages` "[ERROR] ...")."""

    def __init__(self, error: str, errors: Iterable[str] = (), *, as_messages: bool = False):
        super().__init__(error)
        self.error = error
        self.errors = list(errors)
        self.as_messages = as_messages

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error}
        if self.errors and not self.as_messages:
            body["errors"] = self.errors
        if self.errors:
            body["response_metadata"] = {"messages": [f"[ERROR] {e}" for e in self.errors]}
        return body


@dataclass(frozen=True)
class Refusal:
    """A payload the double refused the way Slack would (blocks, views, metadata)."""

    method: str
    error: str
    errors: tuple[str, ...]
    params: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.method}: {self.error} {list(self.errors)}"


class SlackDouble:
    """A Slack Web API double on 127.0.0.1 (a free port). Thread-safe."""

    def __init__(
        self,
        *,
        rate_limits: RateLimits | None = None,
        tokens: Iterable[str] | None = None,
        clock: Callable[[], datetime] | None = None,
        start: bool = True,
    ) -> None:
        self.rate_limits = rate_limits
        # Message `ts` values follow this clock, as Slack's follow real time, so that
        # `conversations.history(oldest=...)` works with a test's fixed clock.
        self.clock = clock or (lambda: datetime.now(UTC))
        self._last_ts = 0
        # Where `apps.connections.open` sends a Socket Mode client (None: not configured).
        self.socket_mode_url: str | Callable[[], str] | None = None
        self._valid_tokens = frozenset(tokens) if tokens is not None else None
        self._cond = threading.Condition(threading.Lock())
        self._calls: list[tuple[str, dict[str, Any]]] = []
        self._rejected: list[tuple[str, dict[str, Any], int]] = []
        self._throttled = 0
        self._refusals: list[Refusal] = []
        self._warnings: list[tuple[str, str]] = []
        self._faults: list[_Fault] = []
        self._delays: dict[str, _Delay] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._home_views: dict[str, dict[str, Any]] = {}
        self._open_dms: set[str] = set()
        self._response_url_uses: dict[str, int] = {}
        self._view_counter = itertools.count(1)
        self._channel_buckets: dict[str, _TokenBucket] = {}
        self._method_buckets: dict[str, _TokenBucket] = {}
        self._workspace_bucket: _TokenBucket | None = None
        if rate_limits is not None:
            burst = rate_limits.workspace_burst or math.ceil(rate_limits.workspace_per_sec)
            self._workspace_bucket = _TokenBucket(rate_limits.workspace_per_sec, burst)
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "api.test": lambda params: {"args": params},
            "auth.test": self._auth_test,
            "bots.info": self._bots_info,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "users.info": self._users_info,
            "users.profile.get": self._users_profile_get,
            "users.list": self._users_list,
            "users.lookupByEmail": self._users_lookup_by_email,
            "views.open": self._views_open,
            "views.push": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "reactions.add": self._reactions_add,
            "reactions.remove": self._reactions_remove,
        }
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> SlackDouble:
        """Listen on a free port on 127.0.0.1 and serve from a daemon thread."""
        if self._httpd is not None:
            return self
        self._httpd = _Server(("127.0.0.1", 0), _make_handler(self))
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.name = "slack-double"
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port. Idempotent."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> SlackDouble:
        return self.start()

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        self.stop()
        refused = self.refusals
        if refused and exc_type is None:
            # Real Slack would have refused these: the user saw nothing. A test that
            # sends one on purpose reads it with `take_refusals()`.
            raise AssertionError(
                "Slack would refuse these payloads:\n" + "\n".join(map(str, refused))
            )
        # Rebuy always sends fallback text and valid metadata: a warning is a bug too.
        warned = self.warnings
        if warned and exc_type is None:
            raise AssertionError(f"Slack would warn about these calls: {warned}")

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("SlackDouble is not running")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """Base URL for `WebClient(base_url=...)` / `Settings(slack_api_url=...)`."""
        return f"{self.url}/api/"

    def response_url(self, key: str = "default") -> str:
        """A `response_url` served by the double; posts to it are recorded as `"response_url"`."""
        return f"{self.url}/response/{key}"

    # ----------------------------------------------------------------- recording

    @property
    def calls(self) -> list[tuple[str, dict[str, Any]]]:
        """Every request answered with HTTP 200, oldest first (a copy)."""
        with self._cond:
            return list(self._calls)

    @property
    def rejected(self) -> list[tuple[str, dict[str, Any], int]]:
        """Requests answered 429 or 5xx, as `(method, params, status)` (a copy)."""
        with self._cond:
            return list(self._rejected)

    @property
    def throttled(self) -> int:
        """How many 429s were answered (injected or from `rate_limits`)."""
        with self._cond:
            return self._throttled

    @property
    def refusals(self) -> list[Refusal]:
        """Payloads refused as Slack refuses them (invalid blocks, views, metadata), a copy."""
        with self._cond:
            return list(self._refusals)

    def take_refusals(self) -> list[Refusal]:
        """The refusals so far, forgotten afterwards (for tests that send them on purpose)."""
        with self._cond:
            taken, self._refusals = self._refusals, []
            return taken

    def take_warnings(self) -> list[tuple[str, str]]:
        """The warnings so far, forgotten afterwards (for tests that cause them on purpose)."""
        with self._cond:
            taken, self._warnings = self._warnings, []
            return taken

    @property
    def warnings(self) -> list[tuple[str, str]]:
        """`(method, warning)` for every call Slack would accept with a warning, e.g.
        `("chat.postMessage", "missing_text_fallback")`."""
        with self._cond:
            return list(self._warnings)

    def calls_to(self, method: str) -> list[dict[str, Any]]:
        """Params of every HTTP-200 call to `method`, oldest first."""
        with self._cond:
            return [params for name, params in self._calls if name == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until `method` was called at least `count` times; returns those calls.

        Bolt runs listeners after acking, so a test must wait for their Web API calls.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [params for name, params in self._calls if name == method]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} call(s) to {method} within {timeout}s, got {len(found)}"
                    )
                self._cond.wait(left)

    def reset(self) -> None:
        """Forget recorded calls, injected faults and delays, and refill rate-limit buckets.

        Users, messages and views stay.
        """
        with self._cond:
            self._calls.clear()
            self._rejected.clear()
            self._throttled = 0
            self._faults.clear()
            self._delays.clear()
            self._channel_buckets.clear()
            self._method_buckets.clear()
            if self._workspace_bucket is not None:
                self._workspace_bucket.tokens = self._workspace_bucket.capacity

    # ----------------------------------------------------------------- state

    def add_user(
        self,
        user_id: str,
        *,
        email: str | None = None,
        tz: str = "Europe/Berlin",
        name: str | None = None,
        real_name: str | None = None,
        deleted: bool = False,
        is_bot: bool = False,
    ) -> dict[str, Any]:
        """Register a workspace member for users.info, users.list and users.lookupByEmail."""
        name = name or user_id.lower()
        real_name = real_name or name.replace(".", " ").title()
        offset = ZoneInfo(tz).utcoffset(datetime.now(UTC)) or None
        user = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "deleted": deleted,
            "real_name": real_name,
            "tz": tz,
            "tz_label": datetime.now(ZoneInfo(tz)).tzname(),
            "tz_offset": int(offset.total_seconds()) if offset else 0,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": 1700000000,
            "profile": {
                "real_name": real_name,
                "display_name": name,
                "email": email,
                "team": TEAM_ID,
                # Slack's shape for "no status": empty strings, no emoji, expiration 0.
                "status_text": "",
                "status_text_canonical": "",
                "status_emoji": "",
                "status_emoji_display_info": [],
                "status_expiration": 0,
            },
        }
        if email is None:
            del user["profile"]["email"]
        with self._cond:
            self._users[user_id] = user
        return user

    def set_status(
        self, user_id: str, *, text: str = "", emoji: str = "", expiration: int = 0
    ) -> None:
        """What a member sets in Slack's "Update your status" (`expiration`: unix seconds
        when it clears, 0 for never), as users.info/users.list/users.profile.get show it."""
        with self._cond:
            profile = self._users[user_id]["profile"]
            profile.update(
                status_text=text,
                status_text_canonical="",
                status_emoji=emoji,
                status_emoji_display_info=(
                    [{"emoji_name": emoji.strip(":"), "display_alias": emoji}] if emoji else []
                ),
                status_expiration=int(expiration),
            )

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages currently in `channel` (thread replies included), oldest first."""
        with self._cond:
            return [dict(message) for message in self._messages.get(self._dm(channel), [])]

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The App Home view last published for `user_id`."""
        with self._cond:
            return self._home_views.get(user_id)

    # ----------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: float = 1,
        times: int | None = 1,
        channel: str | None = None,
        user: str | None = None,
        after: bool = False,
        drop: bool = False,
    ) -> None:
        """Make the next `times` calls to `method` fail (`times=None`: every call, until reset).

        `after=True` carries the call out first (a message is posted) and then fails, as
        a Slack edge that lost the answer does; `drop=True` closes the connection with no
        answer at all (before or, with `after`, after carrying the call out).

        - `status=429`: HTTP 429 with `Retry-After: retry_after` (whole seconds).
        - `status=500` (or any 5xx): that status with a JSON error body.
        - `error="channel_not_found"`: HTTP 200 `{"ok": false, "error": ...}`.
        `channel` / `user` limit the fault to calls for that channel or user.
        """
        if status is None and error is None and not drop:
            raise ValueError("give a status, an error or drop=True")
        fault = _Fault(
            method=method,
            status=status or 200,
            error=error,
            retry_after=max(1, math.ceil(retry_after)),
            remaining=times,
            channel=channel,
            user=user,
            after=after,
            drop=drop,
        )
        with self._cond:
            self._faults.append(fault)

    def delay(self, method: str, seconds: float, *, times: int | None = None) -> None:
        """Answer `method` only after `seconds` (for the next `times` calls, or until reset)."""
        with self._cond:
            self._delays[method] = _Delay(seconds, times)

    # ----------------------------------------------------------------- request handling

    def _handle_api(self, method: str, token: str | None, params: dict[str, Any]) -> _Answer:
        self._apply_delay(method)
        with self._cond:
            answer = self._answer(method, token, params)
            if answer.status == 200:
                self._calls.append((method, params))
            else:
                self._rejected.append((method, params, answer.status))
                if answer.status == 429:
                    self._throttled += 1
            self._cond.notify_all()
            return answer

    def _apply_delay(self, method: str) -> None:
        with self._cond:
            delay = self._delays.get(method)
            if delay is None:
                return
            if delay.remaining is not None:
                delay.remaining -= 1
                if delay.remaining <= 0:
                    del self._delays[method]
        time.sleep(delay.seconds)

    # Complexity over 12 on purpose: Slack's checks in the order Slack makes them (auth, scopes,
    # rate limits, faults).
    def _answer(  # noqa: C901
        self,
        method: str,
        token: str | None,
        params: dict[str, Any],
    ) -> _Answer:
        if not token:
            return _Answer(200, {"ok": False, "error": "not_authed"})
        if self._valid_tokens is not None and token not in self._valid_tokens:
            return _Answer(200, {"ok": False, "error": "invalid_auth"})
        fault = self._take_fault(method, params)
        if fault is not None:
            if fault.after and method in self._methods:
                with contextlib.suppress(SlackError):
                    self._methods[method](params)
            if fault.drop:
                return _Answer(0, None)
            if fault.status == 429:
                return _Answer(
                    429,
                    {"ok": False, "error": "ratelimited"},
                    {"Retry-After": str(fault.retry_after)},
                )
            return _Answer(fault.status, {"ok": False, "error": fault.error or "internal_error"})
        wait = self._rate_limit_wait(method, params)
        if wait > 0:
            return _Answer(
                429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(math.ceil(wait))}
            )
        if method == "apps.connections.open" and self.socket_mode_url is not None:
            return self._apps_connections_open(token)
        implementation = self._methods.get(method)
        if implementation is None:
            return _Answer(200, {"ok": True})
        try:
            result = implementation(params)
        except SlackError as error:
            if error.errors or error.error in _PAYLOAD_ERRORS:
                self._refusals.append(Refusal(method, error.error, tuple(error.errors), params))
            return _Answer(200, error.body())
        warnings = result.pop("_warnings", ())
        body = {"ok": True, **result}
        if warnings:
            self._warnings.extend((method, warning) for warning in warnings)
            body["response_metadata"] = {"warnings": list(warnings)}
        return _Answer(200, body)

    def _apps_connections_open(self, token: str) -> _Answer:
        """A WebSocket URL for Socket Mode; only app-level tokens may ask for one."""
        if not token.startswith("xapp-"):
            return _Answer(200, {"ok": False, "error": "not_allowed_token_type"})
        url = self.socket_mode_url
        return _Answer(200, {"ok": True, "url": url() if callable(url) else url})

    def _take_fault(self, method: str, params: Mapping[str, Any]) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(method, params):
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    def _rate_limit_wait(self, method: str, params: Mapping[str, Any]) -> float:
        limits = self.rate_limits
        if limits is None:
            return 0.0
        now = time.monotonic()
        buckets: list[_TokenBucket] = []
        if method == "chat.postMessage" and params.get("channel"):
            channel = self._dm(str(params["channel"]))
            bucket = self._channel_buckets.get(channel)
            if bucket is None:
                bucket = _TokenBucket(limits.per_channel_per_sec, limits.burst)
                self._channel_buckets[channel] = bucket
            buckets.append(bucket)
            if self._workspace_bucket is not None:
                buckets.append(self._workspace_bucket)
        per_minute = limits.method_per_minute.get(method)
        if per_minute:
            bucket = self._method_buckets.get(method)
            if bucket is None:
                bucket = _TokenBucket(per_minute / 60.0, per_minute)
                self._method_buckets[method] = bucket
            buckets.append(bucket)
        wait = max((bucket.wait_needed(now) for bucket in buckets), default=0.0)
        if wait == 0:
            for bucket in buckets:
                bucket.take()
        return wait

    def _handle_response_url(self, key: str, payload: dict[str, Any]) -> _Answer:
        with self._cond:
            uses = self._response_url_uses.get(key, 0) + 1
            self._response_url_uses[key] = uses
            if uses > _RESPONSE_URL_USES:
                return _Answer(404, "used_url")
            try:
                warnings = self._message_content(payload)["_warnings"]
            except SlackError as error:
                # A response_url answers a refused message with HTTP 400 and a bare error.
                self._refusals.append(
                    Refusal("response_url", error.error, tuple(error.errors), payload)
                )
                self._cond.notify_all()
                return _Answer(400, error.error)
            self._warnings.extend(("response_url", warning) for warning in warnings)
            self._calls.append(
                ("response_url", {**payload, "response_url": self.response_url(key)})
            )
            self._cond.notify_all()
            return _Answer(200, "ok")

    # ----------------------------------------------------------------- helpers for methods

    @staticmethod
    def _dm(channel: str) -> str:
        """Slack accepts a user id as a channel and posts to the DM with that user."""
        return f"D{channel}" if channel.startswith(("U", "W")) else channel

    def _next_ts(self) -> str:
        """A message ts from `clock`, strictly increasing like Slack's."""
        micros = max(int(self.clock().timestamp() * 1_000_000), self._last_ts + 100)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _find_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        for message in self._messages.get(channel, []):
            if message["ts"] == ts:
                return message
        return None

    def _user(self, user_id: str | None) -> dict[str, Any]:
        if not user_id or user_id not in self._users:
            raise SlackError("user_not_found")
        return self._users[user_id]

    @staticmethod
    def _require(params: Mapping[str, Any], name: str, error: str) -> str:
        value = params.get(name)
        if not value:
            raise SlackError(error)
        return str(value)

    @staticmethod
    def _page(
        items: list[Any], params: Mapping[str, Any], default_limit: int
    ) -> tuple[list[Any], str]:
        limit = int(params.get("limit") or default_limit)
        cursor = params.get("cursor") or ""
        start = 0
        if cursor:
            try:
                start = int(base64.b64decode(cursor).decode().removeprefix("offset:"))
            except ValueError as error:
                raise SlackError("invalid_cursor") from error
        page = items[start : start + limit]
        more = start + limit < len(items)
        next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
        return page, next_cursor

    # ----------------------------------------------------------------- methods

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"https://{TEAM_DOMAIN}.slack.com/",
            "team": TEAM_NAME,
            "user": "rebuy",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _bots_info(self, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("bot") != BOT_ID:
            raise SlackError("bot_not_found")
        return {
            "bot": {
                "id": BOT_ID,
                "deleted": False,
                "name": "rebuy",
                "updated": 1700000000,
                "app_id": APP_ID,
                "user_id": BOT_USER_ID,
                "icons": {},
            }
        }

    def _message_content(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The stored part of a message, after Slack's checks (tests/support/block_kit_rules.py).

        Warnings Slack would attach to the answer are returned under `_warnings`."""
        content: dict[str, Any] = {"text": params.get("text") or ""}
        for name in ("blocks", "attachments", "metadata"):
            if params.get(name):
                content[name] = params[name]
        if not (content["text"] or content.get("blocks") or content.get("attachments")):
            raise SlackError("no_text")
        if isinstance(content["text"], str) and len(content["text"]) > 40_000:
            raise SlackError("msg_too_long")
        verdict = check_message(params)
        if not verdict.ok:
            raise SlackError("invalid_blocks", verdict.errors)
        warnings = list(verdict.warnings)
        if "metadata" in params:
            error, warning = check_metadata(params["metadata"])
            if error:
                raise SlackError(error)
            if warning:
                content.pop("metadata", None)  # Slack posts the message without it
                warnings.append(warning)
        content["_warnings"] = warnings
        return content

    def _chat_post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._dm(self._require(params, "channel", "channel_not_found"))
        content = self._message_content(params)
        warnings = content.pop("_warnings")
        message = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            **content,
            "ts": self._next_ts(),
        }
        if params.get("thread_ts"):
            message["thread_ts"] = str(params["thread_ts"])
        self._messages.setdefault(channel, []).append(message)
        answer = {"channel": channel, "ts": message["ts"], "message": dict(message)}
        return {**answer, "_warnings": warnings}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._dm(self._require(params, "channel", "channel_not_found"))
        ts = self._require(params, "ts", "message_not_found")
        message = self._find_message(channel, ts)
        if message is None:
            raise SlackError("message_not_found")
        content = self._message_content(params)
        warnings = content.pop("_warnings")
        message.update(content)
        answer = {"channel": channel, "ts": ts, "text": message["text"], "message": dict(message)}
        return {**answer, "_warnings": warnings}

    def _chat_post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require(params, "channel", "channel_not_found")
        self._require(params, "user", "user_not_in_channel")
        warnings = self._message_content(params)["_warnings"]
        return {"message_ts": self._next_ts(), "_warnings": warnings}

    def _chat_delete(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._dm(self._require(params, "channel", "channel_not_found"))
        ts = self._require(params, "ts", "message_not_found")
        message = self._find_message(channel, ts)
        if message is None:
            raise SlackError("message_not_found")
        self._messages[channel].remove(message)
        return {"channel": channel, "ts": ts}

    def _conversations_open(self, params: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(params.get("users") or "").split(",") if u]
        if not users:
            raise SlackError("users_list_not_supplied")
        channel_id = f"D{users[0]}" if len(users) == 1 else "G" + "".join(sorted(users))
        already_open = channel_id in self._open_dms
        self._open_dms.add(channel_id)
        answer: dict[str, Any] = {"channel": {"id": channel_id}}
        if already_open:
            answer.update(no_op=True, already_open=True)
        return answer

    def _conversations_history(self, params: dict[str, Any]) -> dict[str, Any]:
        """Newest first, between `oldest` and `latest` (exclusive unless `inclusive`).

        As in Slack, a message's `metadata` ({event_type, event_payload}) is only
        included with `include_all_metadata=true`."""
        channel = self._dm(self._require(params, "channel", "channel_not_found"))
        try:
            oldest = float(params.get("oldest") or 0)
            latest = float(params.get("latest") or math.inf)
        except ValueError as error:
            raise SlackError("invalid_ts_oldest") from error
        inclusive = _flag(params.get("inclusive"))
        with_metadata = _flag(params.get("include_all_metadata"))

        def within(ts: str) -> bool:
            when = float(ts)
            if inclusive:
                return oldest <= when <= latest
            return oldest < when < latest

        top_level = []
        for m in reversed(self._messages.get(channel, [])):
            if m.get("thread_ts") in (None, m["ts"]) and within(m["ts"]):
                shown = dict(m)
                if not with_metadata:
                    shown.pop("metadata", None)
                top_level.append(shown)
        page, next_cursor = self._page(top_level, params, default_limit=100)
        return {
            "messages": page,
            "has_more": bool(next_cursor),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _conversations_replies(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._dm(self._require(params, "channel", "channel_not_found"))
        ts = self._require(params, "ts", "thread_not_found")
        thread = [
            dict(m)
            for m in self._messages.get(channel, [])
            if m["ts"] == ts or m.get("thread_ts") == ts
        ]
        if not thread:
            raise SlackError("thread_not_found")
        page, next_cursor = self._page(thread, params, default_limit=1000)
        return {
            "messages": page,
            "has_more": bool(next_cursor),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"user": self._user(params.get("user"))}

    def _users_profile_get(self, params: dict[str, Any]) -> dict[str, Any]:
        # Without `user`, Slack answers for the token's own user: a bot has no profile here.
        if not params.get("user"):
            raise SlackError("user_not_found")
        return {"profile": dict(self._user(params.get("user"))["profile"])}

    def _users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        members = list(self._users.values())
        page, next_cursor = self._page(members, params, default_limit=max(1, len(members)))
        return {
            "members": page,
            "cache_ts": int(time.time()),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _users_lookup_by_email(self, params: dict[str, Any]) -> dict[str, Any]:
        email = str(params.get("email") or "").lower()
        for user in self._users.values():
            if email and str(user["profile"].get("email", "")).lower() == email:
                return {"user": user}
        raise SlackError("users_not_found")

    def _new_view(self, view: Any, *, view_id: str | None = None) -> dict[str, Any]:
        verdict = check_view(view)
        if not verdict.ok:
            # Views answer `invalid_arguments`, the problems in response_metadata.messages.
            raise SlackError("invalid_arguments", verdict.errors, as_messages=True)
        assert isinstance(view, dict)
        view_id = view_id or f"V{next(self._view_counter):08d}"
        stored = {
            "id": view_id,
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            **view,
            "state": {"values": {}},
            "hash": f"{time.time():.6f}.{view_id}",
            "root_view_id": view_id,
            "previous_view_id": None,
        }
        self._views[view_id] = stored
        return stored

    def _views_open(self, params: dict[str, Any]) -> dict[str, Any]:
        self._require(params, "trigger_id", "invalid_trigger_id")
        view = params.get("view")
        if isinstance(view, dict) and view.get("type") != "modal":
            raise SlackError("invalid_arguments", ["must be a modal [json-pointer:/view/type]"])
        return {"view": self._new_view(view)}

    def _views_update(self, params: dict[str, Any]) -> dict[str, Any]:
        view_id = params.get("view_id")
        if not view_id and params.get("external_id"):
            view_id = next(
                (
                    v["id"]
                    for v in self._views.values()
                    if v["external_id"] == params["external_id"]
                ),
                None,
            )
            if view_id is None:
                raise SlackError("not_found")
        if not view_id:
            raise SlackError("invalid_arguments")
        current = self._views.get(view_id)
        if current and params.get("hash") and params["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        # Lenient: updating a view the double never opened (a payload built in a test) works.
        return {"view": self._new_view(params.get("view"), view_id=view_id)}

    def _views_publish(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = self._require(params, "user_id", "invalid_arguments")
        view = params.get("view")
        if isinstance(view, dict) and view.get("type") != "home":
            raise SlackError("invalid_arguments", ["must be home [json-pointer:/view/type]"])
        view = self._new_view(view)
        self._home_views[user_id] = view
        return {"view": view}

    def _reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._dm(self._require(params, "channel", "channel_not_found"))
        name = self._require(params, "name", "invalid_name")
        # Lenient: a message the double never saw (built in a test) can be reacted to.
        message = self._find_message(channel, str(params.get("timestamp")))
        if message is not None:
            reactions = message.setdefault("reactions", [])
            if any(r["name"] == name for r in reactions):
                raise SlackError("already_reacted")
            reactions.append({"name": name, "users": [BOT_USER_ID], "count": 1})
        return {}

    def _reactions_remove(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = self._dm(self._require(params, "channel", "channel_not_found"))
        name = self._require(params, "name", "invalid_name")
        message = self._find_message(channel, str(params.get("timestamp")))
        if message is not None:
            reactions = message.get("reactions", [])
            if not any(r["name"] == name for r in reactions):
                raise SlackError("no_reaction")
            message["reactions"] = [r for r in reactions if r["name"] != name]
        return {}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # benchmark bursts open many connections at once


def _flag(value: Any) -> bool:
    """Slack's boolean arguments arrive as true/false, 1/0 or JSON booleans."""
    return value is True or str(value).lower() in ("true", "1")


def _decode_params(content_type: str, body: bytes, query: str) -> dict[str, Any]:
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if body and content_type.startswith("application/json"):
        decoded = json.loads(body)
        if isinstance(decoded, dict):
            params.update(decoded)
    elif body and content_type.startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    for name in _JSON_FIELDS & params.keys():
        value = params[name]
        if isinstance(value, str) and value[:1] in ("[", "{"):
            # Undecodable: keep what the client sent, as Slack would reject it anyway.
            with contextlib.suppress(ValueError):
                params[name] = json.loads(value)
    return params


# Complexity over 12 on purpose: the HTTP handler class and its verbs, built around one double.
def _make_handler(double: SlackDouble) -> type[BaseHTTPRequestHandler]:  # noqa: C901
    class Handler(BaseHTTPRequestHandler):
        server_version = "SlackDouble/1.0"

        def do_POST(self) -> None:
            self._dispatch()

        def do_GET(self) -> None:
            self._dispatch()

        def _dispatch(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            content_type = self.headers.get("Content-Type") or ""
            try:
                params = _decode_params(content_type, body, url.query)
            except ValueError:
                self._send(_Answer(200, {"ok": False, "error": "invalid_json"}))
                return
            if url.path.startswith("/api/"):
                method = url.path.removeprefix("/api/")
                token = params.pop("token", None)
                authorization = self.headers.get("Authorization") or ""
                if authorization.startswith("Bearer "):
                    token = authorization.removeprefix("Bearer ").strip() or token
                self._send(double._handle_api(method, token, params))
            elif url.path.startswith("/response/"):
                key = url.path.removeprefix("/response/")
                self._send(double._handle_response_url(key, params))
            else:
                self._send(_Answer(404, {"ok": False, "error": "unknown_method"}))

        def _send(self, answer: _Answer) -> None:
            if answer.status == 0:  # a dropped connection: no answer at all
                self.close_connection = True
                return
            if isinstance(answer.body, str):
                payload = answer.body.encode("utf-8")
                content_type = "text/plain; charset=utf-8"
            else:
                payload = json.dumps(answer.body).encode("utf-8")
                content_type = "application/json; charset=utf-8"
            self.send_response(answer.status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler
