"""How Slack reaches Rebuy: a WSGI front served by waitress, or Socket Mode.

The front checks every POST to /slack/events before Bolt sees it, cheapest first:
the size, then Slack's signature (slack_sdk's `SignatureVerifier`), then the shape of
the body. Unsigned, forged or stale requests get 401; signed but malformed ones 400 (a
body that is not UTF-8 cannot be checked by SignatureVerifier at all: 401, unverified);
the front never answers 500 and never logs a body, only one short line. Bolt verifies
again (cheap), so nothing reaches a listener that failed either check.

`rebuy serve` uses `serve_forever` (HTTP) or `start_socket_mode` (when
SLACK_APP_TOKEN is set); tests use `start_http_server`, which serves from a
background thread and stops cleanly.
"""

from __future__ import annotations

import io
import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from waitress.server import create_server

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
DEFAULT_THREADS = 16
# Slack's largest payloads (a view submission of a 100-block modal, form-encoded) stay
# far below this; anything bigger is refused before it is read, let alone verified.
MAX_REQUEST_BODY_BYTES = 1024 * 1024
# Deeper JSON than this is not something Slack sends.
MAX_JSON_DEPTH = 64
# waitress: well above the 120+ idle clients a slow-loris attempt holds, and short
# enough a channel timeout that they are dropped within seconds. waitress buffers a
# whole request before a worker thread sees it, so a slow client costs a socket only.
CONNECTION_LIMIT = 1000
CHANNEL_TIMEOUT_SECONDS = 10
CLEANUP_INTERVAL_SECONDS = 2
# /healthz answers within this many seconds, whatever the database does.
HEALTH_DEADLINE_SECONDS = 1.5

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Refused(Exception):
    """A request the front answers itself: `status` and a short, body-free reason."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _json_response(
    start_response: Callable[..., Any], status: str, payload: dict[str, Any], *, head: bool = False
) -> list[bytes]:
    body = json.dumps(payload).encode("utf-8")
    start_response(
        status,
        [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [] if head else [body]


def _depth_ok(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when `value` nests no deeper than `limit` (iteratively: no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(node, dict):
            stack.extend((child, depth + 1) for child in node.values())
        elif isinstance(node, list):
            stack.extend((child, depth + 1) for child in node)
    return True


def _json_object(text: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused("400 Bad Request", f"{where} is not valid JSON") from None
    if not isinstance(value, dict):
        raise Refused("400 Bad Request", f"{where} is not a JSON object")
    if not _depth_ok(value):
        raise Refused("400 Bad Request", f"{where} nests deeper than {MAX_JSON_DEPTH}")
    if not isinstance(value.get("type"), str):
        raise Refused("400 Bad Request", f"{where} has no string 'type'")
    return value


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


# What listeners read without checking, per payload type: a signed body without it is
# malformed (400), never a listener's exception (500).
def _interactive_shape(payload: dict[str, Any]) -> str | None:
    user = payload.get("user")
    if not isinstance(user, dict) or not _is_text(user.get("id")):
        return "has no user object with an id"
    kind = payload["type"]
    if kind == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions:
            return "has no actions list"
        if not all(isinstance(a, dict) and _is_text(a.get("action_id")) for a in actions):
            return "has an action without an action_id"
    if kind in {"view_submission", "view_closed"}:
        view = payload.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("callback_id"), str):
            return "has no view object with a callback_id"
        state = view.get("state", {})
        if not isinstance(state, dict) or not isinstance(state.get("values", {}), dict):
            return "has a view state that is not an object"
        blocks = state.get("values", {}).values()
        if not all(
            isinstance(block, dict) and all(isinstance(v, dict) for v in block.values())
            for block in blocks
        ):
            return "has a view state value that is not an object"
        if not isinstance(view.get("private_metadata", ""), str):
            return "has private_metadata that is not text"
    return None


_EVENT_TEXT_FIELDS = {
    "app_home_opened": ("user",),
    "reaction_added": ("user", "reaction"),
    "reaction_removed": ("user", "reaction"),
}


def _event_shape(event: dict[str, Any]) -> str | None:
    for name in _EVENT_TEXT_FIELDS.get(event["type"], ()):
        if not _is_text(event.get(name)):
            return f"{event['type']} event without a {name}"
    if event["type"].startswith("reaction_") and not isinstance(event.get("item"), dict):
        return "reaction event without an item"
    return None


def _refuse_if(problem: str | None, where: str) -> None:
    if problem is not None:
        raise Refused("400 Bad Request", f"{where} {problem}")


def check_body(body: bytes, content_type: str) -> None:
    """Raise `Refused` (400) unless `body` has a shape Slack sends for `content_type`."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("400 Bad Request", "body is not UTF-8") from None
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        payload = _json_object(text, "JSON body")
        if payload["type"] == "event_callback":
            event = payload.get("event")
            if not isinstance(event, dict) or not isinstance(event.get("type"), str):
                raise Refused("400 Bad Request", "event_callback without an event object")
            _refuse_if(_event_shape(event), "event_callback:")
        return
    if media_type == "application/x-www-form-urlencoded":
        try:
            form = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text))
        except ValueError:
            raise Refused("400 Bad Request", "form body is malformed") from None
        if "payload" in form:
            if len(form["payload"]) != 1:
                raise Refused("400 Bad Request", "form body has several payload fields")
            payload = _json_object(form["payload"][0], "payload field")
            _refuse_if(_interactive_shape(payload), f"{payload['type'][:40]} payload")
            return
        if "ssl_check" in form:
            return
        if "command" in form:
            for name in ("command", "user_id", "response_url"):
                values = form.get(name, [])
                if len(values) != 1 or not values[0]:
                    raise Refused("400 Bad Request", f"slash command without one {name}")
            repeated = sorted(name for name, values in form.items() if len(values) > 1)
            if repeated:
                raise Refused("400 Bad Request", f"slash command repeats {repeated[0][:40]}")
            return
        raise Refused("400 Bad Request", "form body has neither payload nor command")
    raise Refused("400 Bad Request", f"unsupported content type {media_type[:40]!r}")


class HealthCheck:
    """Runs `check` on a daemon thread and waits at most `deadline` seconds for it.

    A check still stuck from an earlier call (a database that stopped answering) is
    waited on again rather than started twice, so at most one thread is ever held.
    Returns None when healthy, else a short error name.
    """

    def __init__(self, check: Callable[[], None], deadline: float = HEALTH_DEADLINE_SECONDS):
        self._check = check
        self._deadline = deadline
        self._lock = threading.Lock()
        self._running: tuple[threading.Event, list[BaseException]] | None = None

    def _start(self) -> tuple[threading.Event, list[BaseException]]:
        done = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            try:
                self._check()
            except BaseException as error:  # reported to the caller, never raised here
                errors.append(error)
            finally:
                done.set()

        threading.Thread(target=run, name="rebuy-health", daemon=True).start()
        return done, errors

    def __call__(self) -> str | None:
        with self._lock:
            if self._running is None or self._running[0].is_set():
                self._running = self._start()
            done, errors = self._running
        if not done.wait(self._deadline):
            logger.warning("health check did not answer within %.1f s", self._deadline)
            return "Timeout"
        if errors:
            logger.warning("health check failed: %s", str(errors[0]).splitlines()[0][:200])
            return type(errors[0]).__name__
        return None


def _client_address(environ: dict[str, Any]) -> str:
    return str(environ.get("REMOTE_ADDR") or "?")


def make_wsgi_app(
    bolt_app: App,
    *,
    signing_secret: str,
    events_path: str = EVENTS_PATH,
    health_check: Callable[[], None] | None = None,
    health_deadline: float = HEALTH_DEADLINE_SECONDS,
    max_body_bytes: int = MAX_REQUEST_BODY_BYTES,
) -> WsgiApp:
    """Route `POST /slack/events` through the front to Bolt, `GET /healthz` to a health
    answer (503 when `health_check` raises or takes over `health_deadline`), the rest 404.

    `signing_secret` is the app's Slack signing secret (required: the front verifies
    every request before Bolt sees it).
    """
    if not signing_secret:
        raise ValueError("the HTTP front needs the Slack signing secret")
    verifier = SignatureVerifier(signing_secret)
    slack = SlackRequestHandler(bolt_app, path=events_path)
    health = HealthCheck(health_check, health_deadline) if health_check else None

    def refuse(environ: dict[str, Any], start_response, refused: Refused, size: int | str):
        logger.warning(
            "refused %s from %s: %s (%s bytes)",
            events_path,
            _client_address(environ),
            refused.reason,
            size,
        )
        error = refused.status.split(" ", 1)[1].lower().replace(" ", "_")
        return _json_response(start_response, refused.status, {"ok": False, "error": error})

    def slack_events(environ: dict[str, Any], start_response) -> Iterable[bytes]:
        length_header = environ.get("CONTENT_LENGTH") or "0"
        try:
            length = int(length_header)
            if length < 0:
                raise ValueError
        except ValueError:
            return refuse(environ, start_response, Refused("400 Bad Request", "bad length"), "?")
        if length > max_body_bytes:
            too_big = Refused("413 Request Entity Too Large", "body too large")
            return refuse(environ, start_response, too_big, length)
        body = environ["wsgi.input"].read(length) if length else b""
        try:
            # Slack signs UTF-8 text; SignatureVerifier cannot even check anything else,
            # so such a body is unverified (401), like any other we cannot check.
            body.decode("utf-8")
        except UnicodeDecodeError:
            not_utf8 = Refused("401 Unauthorized", "body is not UTF-8: cannot be verified")
            return refuse(environ, start_response, not_utf8, len(body))
        headers = {
            "x-slack-request-timestamp": environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"),
            "x-slack-signature": environ.get("HTTP_X_SLACK_SIGNATURE"),
        }
        try:
            # SignatureVerifier does int(timestamp): a non-numeric, empty or decimal
            # timestamp raises, and is just as unverified as a wrong signature.
            valid = verifier.is_valid(
                body=body,
                timestamp=headers["x-slack-request-timestamp"],
                signature=headers["x-slack-signature"],
            )
        except (ValueError, TypeError, OverflowError):
            valid = False
        if not valid:
            unsigned = Refused("401 Unauthorized", "invalid or stale Slack signature")
            return refuse(environ, start_response, unsigned, len(body))
        try:
            check_body(body, environ.get("CONTENT_TYPE") or "")
        except Refused as refused:
            return refuse(environ, start_response, refused, len(body))
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        try:
            return slack(environ, start_response)
        except Exception as error:  # never a traceback to the client, never a 500
            logger.error("Slack request failed in Bolt: %s", type(error).__name__)
            return _json_response(
                start_response, "503 Service Unavailable", {"ok": False, "error": "unavailable"}
            )

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path == events_path and method == "POST":
            return slack_events(environ, start_response)
        if path == HEALTH_PATH and method in {"GET", "HEAD"}:
            head = method == "HEAD"
            problem = health() if health is not None else None
            if problem is not None:
                payload = {"ok": False, "error": problem}
                return _json_response(start_response, "503 Service Unavailable", payload, head=head)
            return _json_response(start_response, "200 OK", {"ok": True}, head=head)
        return _json_response(start_response, "404 Not Found", {"ok": False, "error": "not_found"})

    return app


class _InFlight:
    """Counts requests being handled, so a stop can wait for them (our own bookkeeping)."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._count = 0
        self._idle = threading.Condition()
        self.closing = False

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        if self.closing:
            return _json_response(
                start_response, "503 Service Unavailable", {"ok": False, "error": "stopping"}
            )
        with self._idle:
            self._count += 1
        try:
            return list(self._app(environ, start_response))
        finally:
            with self._idle:
                self._count -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout)


class HttpServer:
    """waitress, configured for Slack, through its public API only.

    `create_server(...)` with documented options (connection limit, channel timeout,
    body size cap), `.run()` in a thread of ours, `.close()` to stop listening. Stopping
    answers new requests 503, waits for requests in flight to finish, then closes the
    listening socket; connections left open end by themselves within the channel timeout.
    """

    def __init__(
        self,
        wsgi_app: WsgiApp,
        *,
        host: str = "0.0.0.0",
        port: int,
        threads: int = DEFAULT_THREADS,
        connection_limit: int = CONNECTION_LIMIT,
        channel_timeout: int = CHANNEL_TIMEOUT_SECONDS,
    ) -> None:
        self._app = _InFlight(wsgi_app)
        self._server = create_server(
            self._app,
            host=host,
            port=port,
            threads=threads,
            ident="rebuy",
            connection_limit=connection_limit,
            channel_timeout=channel_timeout,
            cleanup_interval=CLEANUP_INTERVAL_SECONDS,
            max_request_body_size=MAX_REQUEST_BODY_BYTES,
            # poll() tolerates a socket closed by another thread (select() would raise).
            asyncore_use_poll=True,
        )
        self._thread: threading.Thread | None = None
        self._started = False
        self._stop_lock = threading.Lock()
        self._stopped = threading.Event()
        self.host: str = str(self._server.effective_host)
        self.port: int = int(self._server.effective_port)

    @property
    def url(self) -> str:
        """Base URL to reach the server from this machine (e.g. `http://127.0.0.1:PORT`)."""
        host = "127.0.0.1" if self.host in {"0.0.0.0", ""} else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def serving(self) -> bool:
        """True while the background loop started by `start()` is running."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> HttpServer:
        """Serve from a daemon thread; returns at once."""
        if self._started:
            raise RuntimeError("server already started")
        self._started = True
        self._thread = threading.Thread(target=self._run, name="rebuy-http", daemon=True)
        self._thread.start()
        return self

    def run(self) -> None:
        """Serve in the calling thread until `stop()` (another thread) or SIGINT/SIGTERM.

        On a signal, waitress lets its worker threads finish the request they are on.
        """
        if self._started:
            raise RuntimeError("server already started")
        self._started = True
        self._run()

    def _run(self) -> None:
        try:
            self._server.run()
        except OSError as error:
            if not self._app.closing:
                raise
            logger.debug("HTTP loop ended while stopping: %s", error)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, drain in-flight requests for up to `timeout` seconds, close. Idempotent.

        Never call this from a request handler.
        """
        if not self._stop_lock.acquire(blocking=False):
            self._stopped.wait(timeout + 2)  # another thread is stopping: wait for it
            return
        try:
            if self._stopped.is_set():
                return
            self._app.closing = True
            if not self._app.wait_idle(timeout):
                logger.warning("HTTP requests still running after %.1f s; closing", timeout)
            # The response of the last request is queued; give the loop a moment to send it.
            time.sleep(0.1)
            self._server.close()
            if self._thread is not None:
                self._thread.join(0.5)
        finally:
            self._stopped.set()
            self._stop_lock.release()

    def __enter__(self) -> HttpServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def start_http_server(
    wsgi_app: WsgiApp,
    *,
    host: str = "0.0.0.0",
    port: int,
    threads: int = DEFAULT_THREADS,
    **options: Any,
) -> HttpServer:
    """Start serving `wsgi_app` in a background thread. Port 0 picks a free port: read `.port`."""
    return HttpServer(wsgi_app, host=host, port=port, threads=threads, **options).start()


def _on_shutdown_signals(stop: Callable[[], None]) -> Callable[[], None]:
    """Call `stop` (on a helper thread) on SIGINT/SIGTERM; returns a function restoring handlers.

    Signal handlers can only be installed from the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handle(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s, shutting down", signal.Signals(signum).name)
        threading.Thread(target=stop, name="rebuy-shutdown", daemon=True).start()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def serve_forever(
    wsgi_app: WsgiApp,
    *,
    host: str = "0.0.0.0",
    port: int,
    threads: int = DEFAULT_THREADS,
) -> None:
    """Serve `wsgi_app` until SIGINT or SIGTERM, then stop cleanly.

    The waitress loop runs on a thread of ours; the main thread waits for a signal, then
    drains requests in flight and closes the server (the same path as tests use).
    """
    server = HttpServer(wsgi_app, host=host, port=port, threads=threads)
    stop_requested = threading.Event()
    restore = _on_shutdown_signals(stop_requested.set)
    logger.info("serving Slack requests on %s%s", server.url, EVENTS_PATH)
    try:
        server.start()
        while not stop_requested.wait(0.5):
            if not server.serving:
                break
    finally:
        restore()
        server.stop()


def start_socket_mode(
    bolt_app: App,
    app_token: str,
    *,
    concurrency: int = 10,
    stop: threading.Event | None = None,
) -> None:
    """Receive Slack requests over Socket Mode; blocks until SIGINT/SIGTERM (or `stop` is set).

    Uses Bolt's built-in `SocketModeHandler` with `bolt_app.client` for
    `apps.connections.open`, so the Web API base URL and retries match HTTP mode.
    """
    handler = SocketModeHandler(bolt_app, app_token, concurrency=concurrency)
    stop = stop or threading.Event()
    restore = _on_shutdown_signals(stop.set)
    try:
        handler.connect()
        logger.info("connected to Slack over Socket Mode")
        stop.wait()
    finally:
        restore()
        handler.close()
