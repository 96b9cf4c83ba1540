"""How Slack reaches Rebuy: a WSGI app served by waitress, or Socket Mode.

`rebuy serve` uses `serve_forever` (HTTP) or `start_socket_mode` (when
SLACK_APP_TOKEN is set); tests use `start_http_server`, which serves from a
background thread and stops cleanly.
"""

from __future__ import annotations

import json
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterable
from types import FrameType
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
DEFAULT_THREADS = 16
# Slack payloads are small; a view submission with 100 blocks stays far below this.
MAX_REQUEST_BODY_BYTES = 4 * 1024 * 1024

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _json_response(
    start_response: Callable[..., Any], status: str, payload: dict[str, Any], *, head: bool = False
) -> list[bytes]:
    body = json.dumps(payload).encode("utf-8")
    start_response(
        status,
        [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))],
    )
    return [] if head else [body]


def make_wsgi_app(
    bolt_app: App,
    *,
    events_path: str = EVENTS_PATH,
    health_check: Callable[[], None] | None = None,
) -> WsgiApp:
    """Route `POST /slack/events` to Bolt, `GET /healthz` to a health answer, the rest to 404.

    Bolt verifies the Slack signature itself and answers 401 to forged or stale
    requests; commands, interactivity and events all arrive at `events_path`.
    `health_check` (e.g. a `SELECT 1`) raising makes /healthz answer 503.
    """
    slack = SlackRequestHandler(bolt_app, path=events_path)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path == events_path and method == "POST":
            return slack(environ, start_response)
        if path == HEALTH_PATH and method in {"GET", "HEAD"}:
            head = method == "HEAD"
            try:
                if health_check is not None:
                    health_check()
            except Exception as error:  # any failure means "not healthy"; say which
                logger.warning("health check failed: %s", error)
                payload = {"ok": False, "error": type(error).__name__}
                return _json_response(start_response, "503 Service Unavailable", payload, head=head)
            return _json_response(start_response, "200 OK", {"ok": True}, head=head)
        return _json_response(start_response, "404 Not Found", {"ok": False, "error": "not_found"})

    return app


class HttpServer:
    """A waitress server that can run in a background thread and stop cleanly.

    Stopping closes the listening socket first, lets requests already being
    handled finish and flush their responses (up to `timeout`), then closes
    every connection.
    """

    def __init__(
        self,
        wsgi_app: WsgiApp,
        *,
        host: str = "0.0.0.0",
        port: int,
        threads: int = DEFAULT_THREADS,
    ) -> None:
        # Our own socket map, so everything this server owns can be found again.
        self._map: dict[int, Any] = {}
        self._server = create_server(
            wsgi_app,
            map=self._map,
            host=host,
            port=port,
            threads=threads,
            ident="rebuy",
            max_request_body_size=MAX_REQUEST_BODY_BYTES,
        )
        self._listeners = [obj for obj in self._map.values() if isinstance(obj, BaseWSGIServer)]
        self._thread: threading.Thread | None = None
        self._loop_started = False
        self._loop_done = threading.Event()
        self._stop_lock = threading.Lock()
        self._stopped = threading.Event()
        self.host: str = self._listeners[0].effective_host
        self.port: int = int(self._listeners[0].effective_port)

    @property
    def url(self) -> str:
        """Base URL to reach the server from this machine (e.g. `http://127.0.0.1:PORT`)."""
        host = "127.0.0.1" if self.host in {"0.0.0.0", ""} else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> HttpServer:
        """Serve from a daemon thread; returns at once."""
        if self._thread is not None or self._loop_started:
            raise RuntimeError("server already started")
        self._loop_started = True
        self._thread = threading.Thread(target=self._run_loop, name="rebuy-http", daemon=True)
        self._thread.start()
        return self

    def run(self) -> None:
        """Serve in the calling thread until `stop()` is called (from another thread)."""
        if self._loop_started:
            raise RuntimeError("server already started")
        self._loop_started = True
        self._run_loop()

    def _run_loop(self) -> None:
        try:
            self._server.run()
        finally:
            self._loop_done.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, drain in-flight requests for up to `timeout` seconds, close. Idempotent.

        Never call this from a request handler or from the thread running `run()`.
        """
        if not self._stop_lock.acquire(blocking=False):
            self._stopped.wait(timeout + 2)  # another thread is stopping: wait for it
            return
        try:
            if self._stopped.is_set():
                return
            deadline = time.monotonic() + timeout
            self._in_loop(self._close_listeners, timeout)
            # Worker threads finish the request they are on, then exit.
            self._server.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout)
            while self._has_unsent_responses() and time.monotonic() < deadline:
                time.sleep(0.01)
            self._in_loop(lambda: wasyncore.close_all(self._map), timeout)
            if self._thread is not None:
                self._thread.join(max(0.1, deadline - time.monotonic()))
        finally:
            self._stopped.set()
            self._stop_lock.release()

    def _close_listeners(self) -> None:
        for listener in self._listeners:
            # The base close: only the listening socket, not the wake-up trigger.
            wasyncore.dispatcher.close(listener)

    def _has_unsent_responses(self) -> bool:
        return any(
            channel.total_outbufs_len
            for channel in list(self._map.values())
            if isinstance(channel, HTTPChannel)
        )

    def _in_loop(self, action: Callable[[], None], timeout: float) -> None:
        """Run `action` in the event-loop thread (waitress's sockets are not thread-safe)."""
        if not self._loop_started or self._loop_done.is_set():
            action()
            return
        done = threading.Event()

        def thunk() -> None:
            try:
                action()
            finally:
                done.set()

        try:
            self._listeners[0].trigger.pull_trigger(thunk)
        except OSError:
            # The loop closed its wake-up pipe as it ended (its map emptied): nothing is
            # left running to race with, so do it here.
            self._loop_done.wait(timeout)
            action()
            return
        if not done.wait(timeout):
            logger.warning("HTTP server loop did not respond within %.1f s", timeout)

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
) -> HttpServer:
    """Start serving `wsgi_app` in a background thread. Port 0 picks a free port: read `.port`."""
    return HttpServer(wsgi_app, host=host, port=port, threads=threads).start()


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
    """Serve `wsgi_app` in the calling thread until SIGINT or SIGTERM, then stop cleanly."""
    server = HttpServer(wsgi_app, host=host, port=port, threads=threads)
    restore = _on_shutdown_signals(server.stop)
    logger.info("serving Slack requests on %s%s", server.url, EVENTS_PATH)
    try:
        server.run()
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
