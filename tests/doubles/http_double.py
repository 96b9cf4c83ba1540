"""The plumbing the CRM doubles share: a real threaded HTTP/1.1 server with keep-alive,
JSON in and out, a request log, injected faults and a clock tests can move."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    applied: bool = False


@dataclass
class _Fault:
    status: int
    times: int
    path_contains: str
    headers: dict[str, str]
    body: Any
    applied: bool = False


class HttpDouble:
    """Subclasses implement `route(request) -> Answer`; faults and logging happen here."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None) -> None:
        self._lock = threading.RLock()
        self._faults: list[_Fault] = []
        self._offset = 0.0
        self._frozen: float | None = None
        self.log: list[tuple[str, str, int]] = []  # (method, path, status) of every request
        self.latency = 0.0  # seconds every answer takes (a slow CRM, to keep a sync running)
        # While cleared, every answer waits (a CRM that hangs until the test lets it go).
        self.flowing = threading.Event()
        self.flowing.set()
        self._ssl_context = ssl_context
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> HttpDouble:
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                parts = urlsplit(self.path)
                request = Request(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                answer = double._answer(request)
                if isinstance(answer.body, bytes):  # e.g. a SOAP envelope
                    payload = answer.body
                    kind = answer.headers.pop("Content-Type", "text/xml;charset=UTF-8")
                else:
                    payload = b"" if answer.body is None else json.dumps(answer.body).encode()
                    kind = "application/json;charset=UTF-8"
                self.send_response(answer.status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        if self._ssl_context is not None:
            server.socket = self._ssl_context.wrap_socket(server.socket, server_side=True)
        self._server = server
        # A short poll interval: shutdown() waits for it (0.5 s by default, per test).
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HttpDouble:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start the double first"
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    # -- time and faults ---------------------------------------------------
    def now(self) -> float:
        """The double's clock (seconds): real time plus whatever `advance` added (or, once
        `freeze_clock` was called, only what `advance` added: deterministic windows)."""
        base = self._frozen if self._frozen is not None else time.monotonic()
        return base + self._offset

    def freeze_clock(self) -> None:
        with self._lock:
            self._frozen = time.monotonic()

    def advance(self, seconds: float) -> None:
        """Move the double's clock on (e.g. from a retry's injected sleep)."""
        with self._lock:
            self._offset += seconds

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        path_contains: str = "",
        headers: dict[str, str] | None = None,
        body: Any = None,
        applied: bool = False,
    ) -> None:
        """Answer the next `times` requests whose path contains `path_contains` with `status`.

        `applied=True`: the request is carried out first and only its answer is lost
        (the write happened; the client sees an error), as after a gateway timeout.
        """
        with self._lock:
            fault = _Fault(status, times, path_contains, headers or {}, body, applied)
            self._faults.append(fault)

    def count(self, method: str, path_contains: str = "", status: int | None = None) -> int:
        with self._lock:
            return sum(
                1
                for m, p, s in self.log
                if m == method and path_contains in p and (status is None or s == status)
            )

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path_contains in path:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def _answer(self, request: Request) -> Answer:
        if self.latency:
            time.sleep(self.latency)
        if not self.flowing.wait(60):
            return Answer(504, {"message": "the test never let the double answer"})
        answer = self.before(request)
        if answer is None:
            fault = self._take_fault(request.path)
            if fault is not None:
                if fault.applied:
                    self.route(request)
                answer = Answer(
                    fault.status, fault.body or self.error_body(fault.status), dict(fault.headers)
                )
        if answer is None:
            try:
                answer = self.route(request)
            except _NotFound:
                answer = Answer(404, self.error_body(404))
        with self._lock:
            self.log.append((request.method, request.path, answer.status))
        return answer

    # -- for subclasses ----------------------------------------------------
    def before(self, request: Request) -> Answer | None:
        """Auth and rate limits: an answer here short-cuts routing."""
        return None

    def route(self, request: Request) -> Answer:
        raise NotImplementedError

    def error_body(self, status: int) -> Any:
        return {"status": "error", "message": f"HTTP {status}"}


class _NotFound(Exception):
    pass


def not_found() -> Exception:
    return _NotFound()


Clock = Callable[[], float]
