"""A local Slack Socket Mode server double: a real WebSocket server on 127.0.0.1.

slack_sdk's `SocketModeClient` (and so Bolt's `SocketModeHandler`) asks the Web
API for a WebSocket URL with `apps.connections.open`, connects, and from then on
receives every slash command, event and interaction as a JSON *envelope* on the
socket, and answers each with an *acknowledgement*: `{"envelope_id": ...}`, plus
a `payload` where the app answers with content (a modal's field errors, say).

    with SlackDouble() as slack, SocketModeDouble() as socket:
        slack.socket_mode_url = socket.connection_url   # a fresh ticket per call
        ... start the app with an xapp- token, pointed at slack.api_url ...
        socket.wait_connected()
        envelope_id = socket.slash_command(fields)
        assert socket.wait_ack(envelope_id).payload is None

What it does like Slack:
- Only URLs it issued (`connection_url()`: `/link/?ticket=...&app_id=...`) are
  accepted, each ticket once; anything else is refused with HTTP 401.
- Right after the handshake it sends the `hello` message.
- `slash_command`, `event` and `interactive` wrap a payload (a plain dict, the
  same fields Slack posts over HTTP) in an envelope of Slack's shape with a new
  `envelope_id`; `disconnect` sends the `disconnect` message Slack sends before
  it refreshes a connection (the client should then open a new one).
- It pings the client every `PING_INTERVAL` and answers its pings with pongs.

What it records: `acks` (every message carrying an `envelope_id`, in arrival
order, duplicates included), `received` (every message from the app) and the
connections (`connections_opened`, `open_connections`, `wait_closed`). It does
not redeliver unacknowledged envelopes: a test pushes a retry itself with
`event(..., retry_attempt=1)`.

It judges acks as strictly as Slack (`refusals`): every envelope must be acked once,
within ACK_LIMIT seconds, with an envelope_id it sent; a `payload` only where the
envelope `accepts_response_payload`; a command's payload must be a message Slack
accepts (else Slack shows `invalid_command_response`), a view_submission's a valid
`response_action` (`errors` keyed by the view's input blocks, non-empty strings;
`update`/`push` with a valid view). Leaving the double with a refusal unread (or an
envelope never acked) fails the test; `take_refusals()` reads them on purpose.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from tests.support.block_kit_rules import check_message, check_view

APP_ID = "A123"
WAIT = 5.0
ACK_LIMIT = 3.0  # seconds: Slack shows the user an error when an ack comes later
PING_INTERVAL = 0.1  # seconds
# Interactive payloads whose acknowledgement may carry content (Slack sets
# `accepts_response_payload` on their envelopes).
_RESPONDING_INTERACTIONS = frozenset({"view_submission", "block_suggestion"})

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ack:
    """One acknowledgement from the app."""

    envelope_id: str
    payload: dict[str, Any] | None  # None: a plain ack
    connection: int  # index of the connection it came on (0 = the first)
    raw: dict[str, Any]


@dataclass
class _Sent:
    """An envelope the double sent and what its ack may carry."""

    kind: str
    payload: dict[str, Any]
    accepts_response_payload: bool
    sent_at: float
    acked: int = 0


def _input_block_ids(view: Mapping[str, Any]) -> set[str]:
    blocks = view.get("blocks") or []
    ids = {b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("type") == "input"}
    state = (view.get("state") or {}).get("values") or {}
    return {i for i in ids if isinstance(i, str)} | set(state)


def ack_problems(sent: _Sent, payload: Any) -> list[str]:
    """What Slack would refuse in an ack's `payload` for the envelope `sent`."""
    if payload is None:
        return []
    if not sent.accepts_response_payload:
        return [f"a payload on a {sent.kind} envelope, which accepts none"]
    if not isinstance(payload, dict):
        return ["the payload is not an object"]
    if sent.kind == "slash_commands":
        verdict = check_message(payload)
        return [f"invalid_command_response: {e}" for e in verdict.errors]
    action = payload.get("response_action")
    if action in ("update", "push"):
        return [f"{action}: {e}" for e in check_view(payload.get("view")).errors]
    if action == "clear":
        return []
    if action != "errors":
        return [f"unknown response_action {action!r}"]
    errors = payload.get("errors")
    if not (isinstance(errors, dict) and errors):
        return ["response_action errors needs a non-empty errors object"]
    known = _input_block_ids(sent.payload.get("view") or {})
    problems = [
        f"error for {k!r}, not an input block of the view" for k in errors if k not in known
    ]
    problems += [
        f"error for {k!r} is not a non-empty string"
        for k, v in errors.items()
        if not (isinstance(v, str) and v)
    ]
    return problems


@dataclass
class _Connection:
    index: int
    ticket: str
    socket: ServerConnection
    closed: threading.Event = field(default_factory=threading.Event)
    close_code: int | None = None


class SocketModeDouble:
    """Slack's Socket Mode endpoint on a free port of 127.0.0.1. Thread-safe."""

    def __init__(self, *, app_id: str = APP_ID, start: bool = True) -> None:
        self.app_id = app_id
        self._cond = threading.Condition(threading.Lock())
        self._tickets: set[str] = set()  # issued and not yet used
        self._connections: list[_Connection] = []
        self._acks: list[Ack] = []
        self._received: list[dict[str, Any]] = []
        self._refused = 0
        self._sent: dict[str, _Sent] = {}
        self._refusals: list[tuple[str, str]] = []
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> SocketModeDouble:
        if self._server is not None:
            return self
        self._server = serve(
            self._serve_connection,
            "127.0.0.1",
            0,
            process_request=self._check_ticket,
            compression=None,  # Slack's client does not negotiate permessage-deflate
            # Slack pings its clients too. Often here, because slack_sdk's built-in client
            # reads with a 3 s timeout under the lock `close()` needs: a ping wakes it, so
            # shutting the app down does not wait out that timeout in every test.
            ping_interval=PING_INTERVAL,
            close_timeout=1,
            logger=log,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="socket-mode-double", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close every connection (1001 going away), stop listening. Idempotent."""
        if self._server is None:
            return
        self._server.shutdown()
        if self._thread is not None:
            self._thread.join(5)
        self._server = None
        self._thread = None

    def __enter__(self) -> SocketModeDouble:
        return self.start()

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        self._wait_for_due_acks()
        self.stop()
        refused = self.refusals
        if refused and exc_type is None:
            raise AssertionError(f"Slack would refuse these Socket Mode acks: {refused}")

    def _wait_for_due_acks(self) -> None:
        """Envelopes still inside their 3 s get them; any not acked by then is refused."""
        with self._cond:
            for envelope_id, sent in self._sent.items():
                left = sent.sent_at + ACK_LIMIT - time.monotonic()
                if not sent.acked and left > 0:
                    self._cond.wait_for(lambda sent=sent: sent.acked > 0, left)
                if not sent.acked:
                    self._refusals.append((envelope_id, f"{sent.kind} never acked"))
                    sent.acked = -1  # reported once

    @property
    def refusals(self) -> list[tuple[str, str]]:
        """`(envelope_id, problem)` for every ack Slack would not take, a copy."""
        with self._cond:
            return list(self._refusals)

    def take_refusals(self) -> list[tuple[str, str]]:
        """The refusals so far, forgotten afterwards (for tests that cause them)."""
        self._wait_for_due_acks()
        with self._cond:
            taken, self._refusals = self._refusals, []
            return taken

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("SocketModeDouble is not running")
        return int(self._server.socket.getsockname()[1])

    def connection_url(self) -> str:
        """A new single-use WebSocket URL, as `apps.connections.open` hands out."""
        ticket = str(uuid.uuid4())
        with self._cond:
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    # ----------------------------------------------------------------- connections

    @property
    def connections_opened(self) -> int:
        with self._cond:
            return len(self._connections)

    @property
    def open_connections(self) -> int:
        with self._cond:
            return sum(1 for c in self._connections if not c.closed.is_set())

    @property
    def refused(self) -> int:
        """Handshakes refused for a missing, unknown or reused ticket."""
        with self._cond:
            return self._refused

    def wait_connected(self, count: int = 1, timeout: float = WAIT) -> int:
        """Block until `count` connections were opened in all; returns the newest's index."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._connections) >= count, timeout):
                raise AssertionError(
                    f"expected {count} Socket Mode connection(s) within {timeout}s, "
                    f"got {len(self._connections)} (refused: {self._refused})"
                )
            return len(self._connections) - 1

    def wait_closed(self, index: int = -1, timeout: float = WAIT) -> int | None:
        """Block until connection `index` is closed; returns its close code (1006: dropped)."""
        with self._cond:
            connection = self._connections[index]
        if not connection.closed.wait(timeout):
            raise AssertionError(f"connection {connection.index} still open after {timeout}s")
        return connection.close_code

    # ----------------------------------------------------------------- sending

    def send(self, message: Mapping[str, Any]) -> None:
        """Send a raw message on the newest open connection."""
        with self._cond:
            live = [c for c in self._connections if not c.closed.is_set()]
        if not live:
            raise AssertionError("no open Socket Mode connection to send on")
        live[-1].socket.send(json.dumps(message))

    def envelope(self, type_: str, payload: Mapping[str, Any], **fields: Any) -> str:
        """Wrap `payload` in an envelope of `type_`, send it; returns the envelope_id."""
        envelope_id = str(uuid.uuid4())
        with self._cond:
            self._sent[envelope_id] = _Sent(
                kind=type_,
                payload=dict(payload),
                accepts_response_payload=bool(fields.get("accepts_response_payload")),
                sent_at=time.monotonic(),
            )
        try:
            self.send(
                {"envelope_id": envelope_id, "type": type_, "payload": dict(payload), **fields}
            )
        except BaseException:
            with self._cond:
                del self._sent[envelope_id]  # never delivered: nothing to ack
            raise
        return envelope_id

    def slash_command(self, fields: Mapping[str, Any]) -> str:
        """A slash command; `fields` are the form fields Slack posts over HTTP, as a dict."""
        return self.envelope("slash_commands", fields, accepts_response_payload=True)

    def event(
        self, body: Mapping[str, Any], *, retry_attempt: int = 0, retry_reason: str = ""
    ) -> str:
        """An Events API delivery; `body` is the `event_callback` Slack posts over HTTP."""
        return self.envelope(
            "events_api",
            body,
            retry_attempt=retry_attempt,
            retry_reason=retry_reason,
            accepts_response_payload=False,
        )

    def interactive(self, payload: Mapping[str, Any]) -> str:
        """block_actions, view_submission, shortcuts...: the JSON of the HTTP `payload` field."""
        return self.envelope(
            "interactive",
            payload,
            accepts_response_payload=payload.get("type") in _RESPONDING_INTERACTIONS,
        )

    def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the client to move to a new connection, as Slack does every few hours."""
        self.send(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-double"}}
        )

    # ----------------------------------------------------------------- what came back

    @property
    def acks(self) -> list[Ack]:
        with self._cond:
            return list(self._acks)

    @property
    def received(self) -> list[dict[str, Any]]:
        """Every message the app sent, oldest first (acks and anything else)."""
        with self._cond:
            return list(self._received)

    def acks_for(self, envelope_id: str) -> list[Ack]:
        with self._cond:
            return [ack for ack in self._acks if ack.envelope_id == envelope_id]

    def wait_ack(self, envelope_id: str, timeout: float = WAIT) -> Ack:
        """Block until the app acknowledged `envelope_id`; returns the (first) ack."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ack in self._acks:
                    if ack.envelope_id == envelope_id:
                        return ack
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"envelope {envelope_id} was not acknowledged within {timeout}s; "
                        f"received: {self._received}"
                    )
                self._cond.wait(left)

    # ----------------------------------------------------------------- server side

    def _check_ticket(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        ticket = (parse_qs(url.query).get("ticket") or [""])[0]
        with self._cond:
            if url.path.rstrip("/") == "/link" and ticket in self._tickets:
                self._tickets.discard(ticket)
                return None
            self._refused += 1
        return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid or used ticket\n")

    def _serve_connection(self, socket: ServerConnection) -> None:
        ticket = (parse_qs(urlsplit(socket.request.path).query).get("ticket") or [""])[0]
        with self._cond:
            connection = _Connection(len(self._connections), ticket, socket)
            self._connections.append(connection)
            self._cond.notify_all()
        try:
            socket.send(
                json.dumps(
                    {
                        "type": "hello",
                        "num_connections": self.open_connections,
                        "debug_info": {
                            "host": "applink-double",
                            "build_number": 1,
                            "approximate_connection_time": 18060,
                        },
                        "connection_info": {"app_id": self.app_id},
                    }
                )
            )
            for raw in socket:
                self._record(connection, raw)
        except ConnectionClosed:
            pass  # the client dropped the TCP connection without a close frame
        finally:
            with self._cond:
                connection.close_code = socket.close_code
                connection.closed.set()
                self._cond.notify_all()

    def _judge(self, ack: dict[str, Any]) -> None:
        """Refuse (record) what Slack would not take in this ack. Holds `_cond`."""
        envelope_id = str(ack["envelope_id"])
        sent = self._sent.get(envelope_id)
        if sent is None:
            self._refusals.append((envelope_id, "ack for an envelope_id never sent"))
            return
        took = time.monotonic() - sent.sent_at
        problems = ack_problems(sent, ack.get("payload"))
        if sent.acked:
            problems.append("acked more than once")
        elif took > ACK_LIMIT:
            problems.append(f"acked after {took:.1f} s; Slack gives up at {ACK_LIMIT:.0f} s")
        sent.acked = max(sent.acked, 0) + 1
        self._refusals.extend((envelope_id, problem) for problem in problems)

    def _record(self, connection: _Connection, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            message = {"unparsed": raw if isinstance(raw, str) else raw.decode("utf-8", "replace")}
        with self._cond:
            self._received.append(message)
            if isinstance(message, dict) and message.get("envelope_id"):
                self._judge(message)
                self._acks.append(
                    Ack(
                        envelope_id=message["envelope_id"],
                        payload=message.get("payload"),
                        connection=connection.index,
                        raw=message,
                    )
                )
            self._cond.notify_all()
