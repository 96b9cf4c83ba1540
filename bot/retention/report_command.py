"""The recency report for `rebuy report`, cheap to start.

It opens the database with its DB-API driver (sqlite3, or psycopg for PostgreSQL) and
reads the report in a few aggregate statements (bot/retention/report_sql.py): no
SQLAlchemy, SQLModel, models or Alembic unless a re-buy forecast is shown or a
touch used a tactic (then an ORM session is opened for those parts only).
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from urllib.parse import unquote, urlsplit

from bot.retention.dates import parse_as_of
from bot.retention.errors import InvalidInput
from bot.retention.report import check_day
from bot.retention.report import read_report as read_summary_report
from bot.retention.report_result import RecencyReport
from bot.retention.report_sql import Sql
from bot.retention.rfm_rules import Cutoffs
from bot.schema import SCHEMA_HEAD, SchemaOutOfDate

# How long the cut-point cache write waits for another writer (rfm.CACHE_LOCK_WAIT_MS).
CACHE_WAIT_MS = 250


def read_report(database_url: str, *, now: datetime, as_of: str | None) -> RecencyReport:
    """The recency report as of `as_of` (YYYY-MM-DD, default today), read through the
    DB-API. A bad `as_of` raises InvalidInput (a sentence for the person who typed it)."""
    database = open_database(database_url)
    try:
        _require_schema(database, database_url)
        day = parse_as_of(as_of)
        if day is not None:
            check_day(database.run, database.sql, as_of=day, today=now.date())
            now = datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
        return read_summary_report(
            database.run,
            database.sql,
            now=now,
            as_of=day or now.date(),
            orm=lambda: _orm_session(database_url),
            store_cutoffs=database.store_cutoffs(now),
        )
    finally:
        database.close()


def _require_schema(database: PlainDatabase, database_url: str) -> None:
    """The reader's schema check by one plain query: an empty database gets the schema
    (as on first use, through bot.db); one at another revision is refused with the
    sentence that tells the admin to run `rebuy db upgrade`."""
    try:
        rows = database.run("SELECT version_num FROM alembic_version", {})
    except database.errors:
        database.connection.rollback()
        rows = []
    stored = rows[0][0] if rows else None
    if stored is None:
        from bot.db import Database

        Database(database_url).require_schema()
    elif stored != SCHEMA_HEAD:
        raise SchemaOutOfDate(stored)


@contextmanager
def _orm_session(database_url: str):
    from bot.db import Database

    database = Database(database_url)
    try:
        with database.session() as session:
            yield session
    finally:
        database.dispose()


class PlainDatabase:
    """One DB-API connection: statements in, rows out."""

    def __init__(self, connection, sql: Sql, errors: tuple[type[Exception], ...]) -> None:
        self.connection = connection
        self.sql = sql
        self.errors = errors

    def run(self, statement: str, params: dict) -> list[tuple]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(statement, params)
            return cursor.fetchall()
        finally:
            cursor.close()

    def store_cutoffs(self, now: datetime):
        """Caches the day's cut points like rfm.workspace_cutoffs, in a short transaction
        of its own; a busy database or a concurrent writer leaves the answer standing."""

        def store(as_of: date, cutoffs: Cutoffs) -> None:
            sql = self.sql
            params = {
                "as_of": sql.day_param(as_of),
                "payload": cutoffs.to_json(),
                "computed_at": sql.moment(now),
            }
            self.connection.rollback()  # end the read transaction
            try:
                if not sql.postgres:
                    self.connection.execute(f"PRAGMA busy_timeout={CACHE_WAIT_MS}")
                    self.connection.execute("BEGIN IMMEDIATE")
                self.run(sql.statement("DELETE FROM rfm_cutoffs WHERE as_of = :as_of"), params)
                self.run(
                    sql.statement(
                        "INSERT INTO rfm_cutoffs (as_of, payload, computed_at) "
                        "VALUES (:as_of, :payload, :computed_at)"
                    ),
                    params,
                )
                self.connection.commit()
            except self.errors:
                self.connection.rollback()

        return store

    def close(self) -> None:
        self.connection.close()


def open_database(url: str) -> PlainDatabase:
    """A DB-API connection for a SQLAlchemy-style URL (sqlite:///FILE or
    postgresql[+psycopg]://...)."""
    scheme, _, rest = url.partition("://")
    dialect, _, _driver = scheme.partition("+")
    if dialect == "sqlite":
        import sqlite3

        path = unquote(rest[1:]) if rest.startswith("/") else unquote(rest)
        path = path.split("?", 1)[0] or ":memory:"
        # Autocommit off by hand (isolation_level=None): reads need no transaction, and
        # the cache write opens its own BEGIN IMMEDIATE.
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("PRAGMA busy_timeout=30000")
        return _SqliteDatabase(connection, Sql("sqlite"), (sqlite3.Error,))
    if dialect in ("postgresql", "postgres"):
        import psycopg

        parts = urlsplit(url)
        conninfo = parts._replace(scheme="postgresql").geturl()
        connection = psycopg.connect(conninfo)
        return PlainDatabase(connection, Sql("postgresql"), (psycopg.Error,))
    from bot.schema import HOW_TO_WRITE_DATABASE_URL

    if not rest:
        shown = f" “{url}”" if "@" not in url else ""
        raise InvalidInput(
            f"DATABASE_URL{shown} is not a database URL: {HOW_TO_WRITE_DATABASE_URL}."
        )
    raise InvalidInput(
        f"DATABASE_URL: {scheme}:// is not a database Rebuy can use: {HOW_TO_WRITE_DATABASE_URL}."
    )


class _SqliteDatabase(PlainDatabase):
    def store_cutoffs(self, now: datetime):
        store = super().store_cutoffs(now)

        def in_transaction(as_of: date, cutoffs: Cutoffs) -> None:
            try:
                store(as_of, cutoffs)
            finally:
                if self.connection.in_transaction:
                    self.connection.rollback()
                self.connection.execute("PRAGMA busy_timeout=30000")

        return in_transaction
