"""How Slack reaches Rebuy: the HTTP front (`bot.http_front`) served by waitress, or
Socket Mode.

`rebuy serve` uses `serve_forever` (HTTP) or `start_socket_mode` (when
SLACK_APP_TOKEN is set); tests use `start_http_server`, which serves from a
background thread and stops cleanly.
"""

from __future__ import annotations

import errno
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from waitress.server import create_server

from bot.http_front import EVENTS_PATH, MAX_REQUEST_BODY_BYTES, WsgiApp, json_response
from bot.retention.errors import RebuyError
from bot.slack_client import said_at_start_up

logger = logging.getLogger(__name__)

DEFAULT_THREADS = 16
# waitress: well above the 120+ idle clients a slow-loris attempt holds, and short
# enough a channel timeout that they are dropped within seconds. waitress buffers a
# whole request before a worker thread sees it, so a slow client costs a socket only.
CONNECTION_LIMIT = 1000
CHANNEL_TIMEOUT_SECONDS = 10
CLEANUP_INTERVAL_SECONDS = 2
# The response of the last request is queued when the WSGI app returns: how long a stop
# leaves waitress's loop to send it.
SEND_GRACE_SECONDS = 0.1


@contextmanager
def _port_said(port: int) -> Iterator[None]:
    """A port that cannot be listened on, said as one sentence (a RebuyError)."""
    try:
        yield
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise RebuyError(
                f"Port {port} is already in use (another `rebuy serve`, or another "
                "program): stop it, or set PORT to a free port, then start Rebuy again."
            ) from None
        if error.errno == errno.EACCES:
            raise RebuyError(
                f"This user may not listen on port {port} (ports below 1024 need root): "
                "set PORT to 1024 or above (e.g. 3000) and put a proxy in front."
            ) from None
        raise


class _InFlight:
    """Counts requests being handled, so a stop can wait for them (our own bookkeeping)."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._count = 0
        self._idle = threading.Condition()
        self._last_done = 0.0
        self.closing = False

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]):
        if self.closing:
            return json_response(
                start_response, "503 Service Unavailable", {"ok": False, "error": "stopping"}
            )
        with self._idle:
            self._count += 1
        try:
            return list(self._app(environ, start_response))
        finally:
            with self._idle:
                self._count -= 1
                self._last_done = time.monotonic()
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._count == 0, timeout)

    def seconds_since_last(self) -> float:
        """Seconds since the last request was handled."""
        with self._idle:
            return time.monotonic() - self._last_done


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
        with _port_said(port):
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
            # The response of the last request is queued; give the loop a moment to send it
            # (no wait when the last request ended long enough ago).
            time.sleep(max(0.0, SEND_GRACE_SECONDS - self._app.seconds_since_last()))
            # Closing empties waitress's socket map; its loop sees that when its poll
            # returns (within waitress's one-second loop timeout) and the thread, a
            # daemon, ends by itself: nothing is left to wait for here.
            self._server.close()
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
        _connect(handler)
        logger.info("connected to Slack over Socket Mode")
        stop.wait()
    finally:
        restore()
        handler.close()


def _connect(handler: SocketModeHandler) -> None:
    """Open the Socket Mode connection, or refuse to start with a sentence saying what
    is wrong: the app-level token, Slack, or the network."""
    with said_at_start_up(
        base_url=handler.client.web_client.base_url,
        doing="opened its Socket Mode connection",
        refused=(
            "Slack refused the app-level token ({code}): SLACK_APP_TOKEN must be the app's "
            "xapp- token with the connections:write scope (app settings, Basic Information, "
            "App-Level Tokens)."
        ),
        unreachable=(
            "Could not open the Socket Mode connection to Slack ({reason}): check this "
            "machine's network{setting}, then start Rebuy again."
        ),
    ):
        handler.connect()
