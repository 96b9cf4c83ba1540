"""The database misbehaving: many processes migrating at once, a server that stops
answering (TCP accepted, no reply), a server that refuses connections."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.app import create_app
from bot.db import Database
from bot.server import make_wsgi_app, start_http_server
from tests import slack_app_fixtures as app_fixtures
from tests.conftest import PG_ADMIN_URL, _pg_reachable
from tests.slack_app_fixtures import SECRET, build_runtime, serve, shut_down
from tests.slack_double import SlackDouble
from tests.slack_signing import FORM, get, slash_command_body

double = app_fixtures.double

STARTERS = 5
ROUNDS = 10


class StalledServer:
    """A TCP server on 127.0.0.1 that accepts every connection and never says a word."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._held: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(connection)

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        for connection in self._held:
            connection.close()


@pytest.fixture
def stalled() -> Iterator[StalledServer]:
    server = StalledServer()
    yield server
    server.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_all_at_once(url: str) -> list[str]:
    """STARTERS engines migrate `url` at the same moment; returns each one's outcome."""
    go = threading.Barrier(STARTERS)
    outcomes: list[str] = []

    def start() -> None:
        database = Database(url)
        try:
            go.wait()
            database.upgrade()
            outcomes.append(database.current_revision() or "empty")
        except Exception as error:
            outcomes.append(f"{type(error).__name__}: {error}"[:200])
        finally:
            database.dispose()

    threads = [threading.Thread(target=start) for _ in range(STARTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def test_many_starts_at_once_on_an_empty_sqlite_file() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for round_ in range(ROUNDS):
            outcomes = _start_all_at_once(f"sqlite:///{Path(folder) / f'r{round_}.db'}")
            heads = set(outcomes)
            assert len(outcomes) == STARTERS and len(heads) == 1, (round_, outcomes)
            assert "empty" not in heads and ":" not in next(iter(heads))


def test_many_starts_at_once_on_an_empty_postgresql_database() -> None:
    problem = _pg_reachable()
    if problem:
        pytest.skip(f"PostgreSQL not reachable ({problem})")
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        for round_ in range(ROUNDS):
            name = f"rebuy_start_{uuid.uuid4().hex[:10]}"
            with admin.connect() as connection:
                connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
            url = sa.engine.make_url(PG_ADMIN_URL).set(database=name)
            try:
                outcomes = _start_all_at_once(url.render_as_string(hide_password=False))
            finally:
                with admin.connect() as connection:
                    connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            assert len(outcomes) == STARTERS and len(set(outcomes)) == 1, (round_, outcomes)
            assert ":" not in outcomes[0]
    finally:
        admin.dispose()


# --------------------------------------------------------------------------- a stalled server


def _pg_url(port: int) -> str:
    return f"postgresql+psycopg://rebuy@127.0.0.1:{port}/rebuy"


def test_a_stalled_postgresql_fails_fast_instead_of_hanging(stalled: StalledServer) -> None:
    database = Database(_pg_url(stalled.port))
    started = time.monotonic()
    try:
        with pytest.raises(sa.exc.OperationalError):
            database.ping()
    finally:
        database.dispose()

    assert time.monotonic() - started < 6


@pytest.mark.parametrize("kind", ["stalled", "refusing"])
def test_healthz_answers_503_within_2_seconds(
    kind: str, stalled: StalledServer, double: SlackDouble
) -> None:
    port = stalled.port if kind == "stalled" else _free_port()
    database = Database(_pg_url(port))
    app = create_app(build_runtime(database, double))
    wsgi = make_wsgi_app(app, signing_secret=SECRET, health_check=database.ping)
    try:
        with start_http_server(wsgi, host="127.0.0.1", port=0, threads=4) as http:
            for _ in range(3):  # also while an earlier check is still stuck
                started = time.monotonic()
                status, _, body = get(http.url, "/healthz", timeout=10)
                took = time.monotonic() - started
                assert (status, took < 2) == (503, True), body
    finally:
        database.dispose()


def test_a_command_on_a_stalled_database_is_acked_and_answered_with_an_apology(
    stalled: StalledServer, double: SlackDouble
) -> None:
    database = Database(_pg_url(stalled.port))
    app = serve(build_runtime(database, double), double)
    try:
        started = time.monotonic()
        response_url = app.new_response_url()
        status, _ = app.post(slash_command_body(text="acme", response_url=response_url), FORM)
        acked = time.monotonic() - started
        [reply] = app.wait_response(response_url, timeout=15)
    finally:
        shut_down(app)
        database.dispose()

    assert status == 200 and acked < 3
    assert reply["text"].startswith("⚠️ The database is not answering right now")
