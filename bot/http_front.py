"""The HTTP front: the WSGI app that checks every POST to /slack/events before Bolt.

Cheapest first: the size, then Slack's signature (slack_sdk's `SignatureVerifier`),
then the shape of the body (`bot.slack_request`). Unsigned, forged or stale requests get
401; signed but malformed ones 400 (a body that is not UTF-8 cannot be checked by
SignatureVerifier at all: 401, unverified); the front never answers 500 and never logs a
body, only one short line. Bolt verifies again (cheap), so nothing reaches a listener
that failed either check. `GET /healthz` answers within a deadline whatever the
database does. `bot.server` serves the app (waitress) or Socket Mode.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier

from bot.slack_request import Refused, check_body

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
# Slack's largest payloads (a view submission of a 100-block modal, form-encoded) stay
# far below this; anything bigger is refused before it is read, let alone verified.
MAX_REQUEST_BODY_BYTES = 1024 * 1024
# /healthz answers within this many seconds, whatever the database does.
HEALTH_DEADLINE_SECONDS = 1.5

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def json_response(
    start_response: Callable[..., Any], status: str, payload: dict[str, Any], *, head: bool = False
) -> list[bytes]:
    """A small JSON answer with its length (`head`: the headers only)."""
    body = json.dumps(payload).encode("utf-8")
    start_response(
        status,
        [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [] if head else [body]


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


def _content_length(environ: dict[str, Any], max_body_bytes: int) -> int:
    """The announced body length: refused (400) when not a number, 413 when too big, so
    a body over the cap is never read."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or "0")
        if length < 0:
            raise ValueError
    except ValueError:
        raise Refused("400 Bad Request", "bad length", size="?") from None
    if length > max_body_bytes:
        raise Refused("413 Request Entity Too Large", "body too large", size=length)
    return length


def _check_signature(verifier: SignatureVerifier, environ: dict[str, Any], body: bytes) -> None:
    """401 unless `body` is UTF-8 and carries Slack's valid, fresh signature."""
    try:
        # Slack signs UTF-8 text; SignatureVerifier cannot even check anything else,
        # so such a body is unverified (401), like any other we cannot check.
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("401 Unauthorized", "body is not UTF-8: cannot be verified") from None
    try:
        # SignatureVerifier does int(timestamp): a non-numeric, empty or decimal
        # timestamp raises, and is just as unverified as a wrong signature.
        valid = verifier.is_valid(
            body=body,
            timestamp=environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"),
            signature=environ.get("HTTP_X_SLACK_SIGNATURE"),
        )
    except (ValueError, TypeError, OverflowError):
        valid = False
    if not valid:
        raise Refused("401 Unauthorized", "invalid or stale Slack signature")


class _Front:
    """The WSGI app `make_wsgi_app` returns (see there)."""

    def __init__(
        self,
        bolt_app: App,
        *,
        signing_secret: str,
        events_path: str,
        health: HealthCheck | None,
        max_body_bytes: int,
    ) -> None:
        self.verifier = SignatureVerifier(signing_secret)
        self.slack = SlackRequestHandler(bolt_app, path=events_path)
        self.events_path = events_path
        self.health = health
        self.max_body_bytes = max_body_bytes

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path == self.events_path and method == "POST":
            return self.slack_events(environ, start_response)
        if path == HEALTH_PATH and method in {"GET", "HEAD"}:
            return self.healthz(start_response, head=method == "HEAD")
        return json_response(start_response, "404 Not Found", {"ok": False, "error": "not_found"})

    def healthz(self, start_response: Callable[..., Any], *, head: bool) -> list[bytes]:
        problem = self.health() if self.health is not None else None
        if problem is not None:
            payload = {"ok": False, "error": problem}
            return json_response(start_response, "503 Service Unavailable", payload, head=head)
        return json_response(start_response, "200 OK", {"ok": True}, head=head)

    def slack_events(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        body = b""
        try:
            length = _content_length(environ, self.max_body_bytes)
            body = environ["wsgi.input"].read(length) if length else b""
            _check_signature(self.verifier, environ, body)
            check_body(body, environ.get("CONTENT_TYPE") or "")
        except Refused as refused:
            return self.refuse(environ, start_response, refused, len(body))
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        try:
            return self.slack(environ, start_response)
        except Exception as error:  # never a traceback to the client, never a 500
            logger.error("Slack request failed in Bolt: %s", type(error).__name__)
            return json_response(
                start_response, "503 Service Unavailable", {"ok": False, "error": "unavailable"}
            )

    def refuse(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        refused: Refused,
        body_size: int,
    ) -> list[bytes]:
        """One short log line, never the body, and a JSON answer with the status."""
        logger.warning(
            "refused %s from %s: %s (%s bytes)",
            self.events_path,
            _client_address(environ),
            refused.reason,
            body_size if refused.size is None else refused.size,
        )
        error = refused.status.split(" ", 1)[1].lower().replace(" ", "_")
        return json_response(start_response, refused.status, {"ok": False, "error": error})


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
    health = HealthCheck(health_check, health_deadline) if health_check else None
    return _Front(
        bolt_app,
        signing_secret=signing_secret,
        events_path=events_path,
        health=health,
        max_body_bytes=max_body_bytes,
    )
