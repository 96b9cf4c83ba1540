"""The database: engine set-up for SQLite and PostgreSQL, sessions, migrations."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlmodel import Session

import models  # noqa: F401  (registers every table on the metadata)
from bot.db_deadline import Breaker, DatabaseUnavailable, Deadlines, Reaper
from bot.retention.errors import RebuyError
from bot.schema import HOW_TO_WRITE_DATABASE_URL, SCHEMA_HEAD, SchemaOutOfDate

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
# SQLite: a write waits this long for the write lock (an import can hold it a while);
# a read never needs to wait that long in WAL mode, so it gives up much sooner.
BUSY_TIMEOUT_MS = 30_000
READ_BUSY_TIMEOUT_MS = 2_000
# PostgreSQL: a server that accepts TCP but never answers must not hold a thread for
# ever. connect_timeout bounds a new connection (libpq's minimum is 2 s); keepalives and
# tcp_user_timeout drop a connection whose peer vanished (a network partition);
# pool_timeout bounds the wait for a pooled connection when all are busy.
PG_CONNECT_ARGS = {
    "connect_timeout": 3,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 15_000,
}
POOL_TIMEOUT_SECONDS = 5
# libpq's connect_timeout cannot be shorter than this.
PG_MIN_CONNECT_SECONDS = 2
# pg_advisory_xact_lock key for migrations: any fixed 64-bit number unique to Rebuy.
MIGRATION_LOCK_KEY = 0x5245_4255_5900  # "REBUY"
# SCHEMA_HEAD, the newest migration (tests/test_db.py checks it against Alembic's head):
# a database stored at this revision needs no migration, and Alembic is not imported.


def _use_wal(cursor) -> None:
    """Switch the file to WAL (a property of the file, kept once set).

    The switch needs the file to itself and SQLite answers "database is locked" at once,
    without its busy handler, while another connection is opening it; so several
    processes starting together on a new file retry here for up to the busy timeout.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.01
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.25)


def database_url(url: str) -> URL:
    """DATABASE_URL as SQLAlchemy reads it (postgresql:// and the postgres:// many hosts
    hand out use psycopg, the driver Rebuy installs), or a RebuyError saying how to
    write it. Only SQLite and PostgreSQL are databases Rebuy can use."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        shown = f" “{url}”" if "@" not in url else ""
        raise RebuyError(
            f"DATABASE_URL{shown} is not a database URL: {HOW_TO_WRITE_DATABASE_URL}."
        ) from None
    backend = parsed.get_backend_name()
    if backend in ("postgres", "postgresql") and parsed.drivername in ("postgres", "postgresql"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "postgresql" and parsed.drivername != "postgresql+psycopg":
        raise RebuyError(
            f"DATABASE_URL asks for the {parsed.drivername} driver, which Rebuy does not "
            "install: write postgresql+psycopg://user:password@host/db."
        )
    if backend == "sqlite" and (parsed.host or parsed.port):
        raise RebuyError(
            f"DATABASE_URL sqlite://{parsed.host}… has two slashes, so “{parsed.host}” reads "
            f"as a host: {HOW_TO_WRITE_DATABASE_URL}."
        )
    if backend not in ("sqlite", "postgresql"):
        raise RebuyError(
            f"DATABASE_URL: {parsed.drivername}:// is not a database Rebuy can use: "
            f"{HOW_TO_WRITE_DATABASE_URL}."
        )
    return parsed


def make_engine(
    url: str,
    *,
    echo: bool = False,
    deadlines: Deadlines | None = None,
    reaper: Reaper | None = None,
) -> Engine:
    """An engine tuned for the backend: WAL, busy timeout and FKs on SQLite; on
    PostgreSQL, statements run for a request are held to its budget (`deadlines`)."""
    deadlines = deadlines or Deadlines()
    parsed = database_url(url)
    if parsed.get_backend_name() == "postgresql":
        # Options given in DATABASE_URL's query string win over these defaults.
        connect_args = {k: v for k, v in PG_CONNECT_ARGS.items() if k not in parsed.query}
        engine = create_engine(
            parsed,
            echo=echo,
            # The ping on checkout is ours (`_hold_to_deadlines`), under the deadline.
            pool_pre_ping=False,
            pool_size=10,
            max_overflow=20,
            pool_timeout=POOL_TIMEOUT_SECONDS,
            connect_args=connect_args,
        )
        _hold_to_deadlines(engine, deadlines, reaper or Reaper())
        return engine

    if parsed.database and parsed.database != ":memory:":
        folder = Path(parsed.database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise RebuyError(
                f"Cannot create the folder {folder} for the SQLite file of DATABASE_URL "
                f"({error.strerror}): create it, or point DATABASE_URL at a folder this "
                "user can write to."
            ) from None
    engine = create_engine(
        parsed, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        # A read transaction that later writes fails at once with "database is locked";
        # write transactions therefore take the lock up front.
        options = connection.get_execution_options()
        immediate = options.get("sqlite_immediate", False)
        # `sqlite_lock_wait_ms` lets a unit of work that must finish inside Slack's
        # 3 seconds wait less than an ordinary write.
        default_ms = BUSY_TIMEOUT_MS if immediate else READ_BUSY_TIMEOUT_MS
        # Work for a request waits no longer than its budget leaves.
        wait_ms = deadlines.remaining_ms(int(options.get("sqlite_lock_wait_ms", default_ms)))
        connection.exec_driver_sql(f"PRAGMA busy_timeout={wait_ms}")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _hold_to_deadlines(engine: Engine, deadlines: Deadlines, reaper: Reaper) -> None:
    """PostgreSQL: every statement, commit, rollback and ping made under a budget is
    watched by a reaper that drops its connection when it overruns; a new connection
    gives up within the budget too (libpq's connect_timeout, 2 s at least)."""
    _connect_within_budget(engine, deadlines)
    _ping_within_budget(engine, deadlines, reaper)
    _watch_statements(engine, deadlines, reaper)


def _dbapi_of(conn):
    """The driver connection under an engine Connection; None when it has none now
    (invalidated or closed: asking for it then could try to reconnect)."""
    if conn is None or conn.invalidated or conn.closed:
        return None
    try:
        return conn.connection.dbapi_connection
    except Exception:
        return None


def _connect_within_budget(engine: Engine, deadlines: Deadlines) -> None:
    """A new connection made under a budget: none once it is spent, else libpq's
    connect_timeout cut to what is left."""

    @event.listens_for(engine, "do_connect")
    def _connect(dialect, conn_rec, cargs, cparams) -> None:
        if deadlines.exhausted():
            raise DatabaseUnavailable(busy=False)
        deadline = deadlines.statement_deadline()
        if deadline is not None:
            seconds = max(PG_MIN_CONNECT_SECONDS, int(deadline - time.monotonic() + 0.999))
            cparams["connect_timeout"] = min(int(cparams.get("connect_timeout", seconds)), seconds)


def _ping_within_budget(engine: Engine, deadlines: Deadlines, reaper: Reaper) -> None:
    """Our own ping on checkout (SQLAlchemy's pre-ping runs before any event and could
    wait for ever), watched by the reaper under a budget."""

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, connection_record, connection_proxy) -> None:
        deadline = deadlines.statement_deadline()
        if deadline is not None:
            reaper.arm(dbapi_connection, deadline)
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            if deadline is not None and time.monotonic() >= deadline:
                # It overran the budget: give up rather than connect again.
                raise DatabaseUnavailable(busy=False) from error
            raise DisconnectionError(f"ping failed: {type(error).__name__}") from error
        finally:
            reaper.disarm(dbapi_connection)


def _watch_statements(engine: Engine, deadlines: Deadlines, reaper: Reaper) -> None:
    """Each statement is armed before it runs and disarmed when it ends or fails; commit
    and rollback stay armed until the connection goes back to the pool."""

    def arm(dbapi_connection) -> None:
        deadline = deadlines.statement_deadline()
        if deadline is not None and dbapi_connection is not None:
            reaper.arm(dbapi_connection, deadline)

    def disarm(dbapi_connection) -> None:
        if dbapi_connection is not None:
            reaper.disarm(dbapi_connection)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany) -> None:
        arm(_dbapi_of(conn))

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany) -> None:
        disarm(_dbapi_of(conn))

    @event.listens_for(engine, "handle_error")
    def _failed(context) -> None:
        disarm(_dbapi_of(context.connection))

    for name in ("commit", "rollback"):
        event.listen(engine, name, lambda conn: arm(_dbapi_of(conn)))
    event.listen(
        engine.pool, "reset", lambda dbapi_connection, record, state: arm(dbapi_connection)
    )
    event.listen(
        engine.pool, "checkin", lambda dbapi_connection, record: reaper.disarm(dbapi_connection)
    )


class Database:
    """The engine plus the two kinds of unit of work the app needs."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.deadlines = Deadlines()
        self.breaker = Breaker(on_trip=self._forget_connections)
        self.reaper = Reaper()
        self.engine = make_engine(url, echo=echo, deadlines=self.deadlines, reaper=self.reaper)

    def _forget_connections(self, busy: bool) -> None:
        """A server that stopped answering: the pooled connections to it are dropped
        (not closed: that could wait on them too), so the next probe connects anew."""
        if not busy and not self.is_sqlite:
            self.engine.dispose(close=False)

    @contextmanager
    def request_work(self, *, statement: float, total: float | None = None) -> Iterator[None]:
        """Database work done for a Slack request: each statement within `statement`
        seconds and all within `total`; fails at once (`DatabaseUnavailable`) while the
        database has just failed to answer (see bot.db_deadline)."""
        with self.breaker.guard(), self.deadlines.budget(statement=statement, total=total):
            yield

    @contextmanager
    def within(self, *, statement: float, total: float | None = None) -> Iterator[None]:
        """Only the budget (no breaker): for the ack path, which answers Slack itself."""
        with self.deadlines.budget(statement=statement, total=total):
            yield

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A read-mostly session; commit yourself if you write."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def transaction(self, *, lock_wait_ms: int | None = None) -> Iterator[Session]:
        """A write unit of work: committed on success, rolled back on error.

        `lock_wait_ms` bounds the wait for a lock (work that must finish inside Slack's
        3 seconds); by default a write waits as long as the database's own timeouts."""
        with Session(self.engine, expire_on_commit=False) as session:
            if self.is_sqlite:
                options: dict[str, object] = {"sqlite_immediate": True}
                if lock_wait_ms is not None:
                    # BEGIN IMMEDIATE is where SQLite waits for the write lock (see _begin).
                    options["sqlite_lock_wait_ms"] = int(lock_wait_ms)
                session.connection(execution_options=options)
            elif lock_wait_ms is not None:
                session.execute(text(f"SET LOCAL lock_timeout = {int(lock_wait_ms)}"))
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def ping(self, *, within: float = 3.0) -> None:
        """Raise when the database cannot be reached within `within` s (for /healthz)."""
        with self.within(statement=within, total=within), self.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    def stored_revision(self) -> str | None:
        """The revision in `alembic_version`, by one plain query (None: no schema yet)."""
        try:
            with self.engine.connect() as connection:
                return connection.exec_driver_sql(
                    "SELECT version_num FROM alembic_version"
                ).scalar()
        except Exception:  # no table yet: an empty database
            return None

    def ensure_schema(self) -> None:
        """Migrate only when the stored revision is not the head (one query otherwise)."""
        if self.stored_revision() != SCHEMA_HEAD:
            self.upgrade()

    def require_schema(self) -> None:
        """For work that only reads: one query, no Alembic. An empty database gets the
        schema (as on first use); one at another revision raises `SchemaOutOfDate`."""
        stored = self.stored_revision()
        if stored is None:
            self.upgrade()
        elif stored != SCHEMA_HEAD:
            raise SchemaOutOfDate(stored)

    def upgrade(self, revision: str = "head") -> None:
        """Bring the schema up to date with the Alembic migrations, under a lock.

        Any number of processes may start at once on an empty database: the first to
        take the lock migrates, the others wait for it and then find nothing to do.
        PostgreSQL: a transaction-scoped advisory lock; SQLite: the write lock, taken
        up front (BEGIN IMMEDIATE) in the same connection Alembic then uses.
        """
        with self.engine.connect() as connection:
            if self.is_sqlite:
                connection = connection.execution_options(sqlite_immediate=True)
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.exec_driver_sql(
                        f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
                    )
                from alembic import command

                config = alembic_config()
                config.attributes["connection"] = connection
                command.upgrade(config, revision)

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def dispose(self) -> None:
        self.engine.dispose()


def alembic_config(url: str | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config
