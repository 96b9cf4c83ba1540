"""The database misbehaving: many processes migrating at once, a server that stops
answering (TCP accepted, no reply), a server that refuses connections."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.app import create_app
from bot.db import Database
from bot.http_front import make_wsgi_app
from bot.server import start_http_server
from handlers.errors import FORM_DATABASE_DOWN
from tests.doubles.slack_double import SlackDouble
from tests.doubles.stalling_proxy import StallingProxy
from tests.support import factories
from tests.support.postgres import PG_ADMIN_URL, pg_reachable
from tests.support.slack_app import SECRET, build_runtime, serve, shut_down
from tests.support.slack_signing import (
    FORM,
    datepicker,
    get,
    slash_command_body,
    static_select,
    text_input,
)

# Writes through Slack (or runs at its database's limits): on PostgreSQL too.
pytestmark = pytest.mark.both_databases

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
    problem = pg_reachable()
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
    assert reply["text"].startswith("⚠️ Rebuy can't reach its database right now")


# ------------------------------------------------- a burst while the database is stalled

BURST = 60


class Stall:
    """`db` as the app sees it once it stops answering: PostgreSQL behind a proxy that
    stops forwarding (its pooled connections included); SQLite with the write lock held.
    `resume()` ends the stall."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.database = db
        self.proxy: StallingProxy | None = None
        self.blocker = None

    def __enter__(self) -> Stall:
        if self.db.is_sqlite:
            self.blocker = self.db.engine.connect()
            self.blocker.connection.driver_connection.execute("BEGIN IMMEDIATE")
            return self
        url = sa.engine.make_url(self.db.url)
        self.proxy = StallingProxy((url.host or "127.0.0.1", url.port or 5432))
        proxied = url.set(host="127.0.0.1", port=self.proxy.port)
        self.database = Database(proxied.render_as_string(hide_password=False))
        with ThreadPoolExecutor(4) as pool:  # a warm pool, as in a running server
            list(pool.map(lambda _: self.database.ping(), range(4)))
        self.proxy.stalled.set()
        return self

    def resume(self) -> None:
        if self.blocker is not None:
            self.blocker.connection.driver_connection.execute("ROLLBACK")
            self.blocker.close()
            self.blocker = None
        if self.proxy is not None:
            self.proxy.stalled.clear()

    def __exit__(self, *exc_info: object) -> None:
        self.resume()
        if self.proxy is not None:
            self.database.dispose()
            self.proxy.close()


def test_a_burst_on_a_stalled_database_is_acked_and_apologised_for(
    db: Database, double: SlackDouble
) -> None:
    with db.transaction() as session:
        factories.account(session, "Acme Corp")
    with Stall(db) as stall:
        database = stall.database
        app = serve(build_runtime(database, double), double, threads=8)
        health = start_http_server(
            make_wsgi_app(app.app, signing_secret=SECRET, health_check=database.ping),
            host="127.0.0.1",
            port=0,
            threads=2,
        )
        try:
            urls = [app.new_response_url() for _ in range(BURST)]
            go = threading.Barrier(BURST)

            def send(url: str) -> tuple[int, float]:
                go.wait()
                started = time.monotonic()
                status, _ = app.post(slash_command_body(text="acme", response_url=url), FORM)
                return status, time.monotonic() - started

            started = time.monotonic()
            with ThreadPoolExecutor(BURST) as pool:
                acks = list(pool.map(send, urls))
            replies = [app.wait_response(url, timeout=12)[0] for url in urls]
            answered_in = time.monotonic() - started
            checked = time.monotonic()
            health_status = get(health.url, "/healthz", timeout=10)[0]
            health_took = time.monotonic() - checked
        finally:
            health.stop()
            shut_down(app)

    assert [status for status, _ in acks] == [200] * BURST
    assert max(took for _, took in acks) < 3
    wanted = "⚠️ Rebuy's database is busy" if db.is_sqlite else "⚠️ Rebuy can't reach its database"
    assert [reply["text"].split(" right now")[0] for reply in replies] == [wanted] * BURST
    assert answered_in < 10
    if not db.is_sqlite:  # a held SQLite write lock does not stop reads
        assert (health_status, health_took < 2) == (503, True)


def test_the_breaker_fails_fast_then_lets_work_through_once_the_database_answers(
    db: Database,
) -> None:
    from bot.db_deadline import DatabaseUnavailable

    def work() -> None:
        with stall.database.request_work(statement=0.5), stall.database.transaction() as session:
            session.execute(sa.text("SELECT 1"))

    with Stall(db) as stall:
        stall.database.breaker.cool_off = stall.database.breaker.busy_cool_off = 0.3
        started = time.monotonic()
        with pytest.raises(sa.exc.SQLAlchemyError):
            work()
        assert time.monotonic() - started < 3
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable):
            work()  # at once, without waiting on the database
        assert time.monotonic() - started < 0.1
        stall.resume()
        time.sleep(0.3)  # the cool-off: the next request probes
        work()
        assert not stall.database.breaker.is_open


def test_a_modal_submitted_while_the_database_is_stalled_is_answered_in_time(
    db: Database, double: SlackDouble
) -> None:
    with db.transaction() as session:
        acme = factories.account(session, "Acme Corp")
    with Stall(db) as stall:
        app = serve(build_runtime(stall.database, double), double)
        try:
            started = time.monotonic()
            status, ack = app.submit(
                "touch_log_modal",
                {"kind": static_select("call"), "date": datepicker(None), "note": text_input("")},
                {"account_id": acme.id},
            )
            took = time.monotonic() - started
            messages = double.calls_to("chat.postMessage")
        finally:
            shut_down(app)

    assert status == 200 and took < 6  # the ack itself within Slack's 3 s (ack path 1.5 s)
    if db.is_sqlite:  # a held write lock lets the check read; the write then gives up
        assert ack == {}
        (message,) = messages
        assert message["text"].startswith("⚠️ Rebuy's database is busy right now")
    else:  # the form says so, where the rep is looking
        assert ack == {"response_action": "errors", "errors": {"kind": FORM_DATABASE_DOWN}}
        assert messages == []
