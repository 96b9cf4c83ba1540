"""Plain SQL for the readers that run without SQLAlchemy (the report): the few dialect
differences between SQLite and PostgreSQL, and reading their values back."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlmodel import Session

# A statement and its parameters in, its rows out.
Run = Callable[[str, dict], Sequence[tuple]]


@dataclass(frozen=True)
class Sql:
    """The dialect's spelling of the few things SQLite and PostgreSQL write differently."""

    dialect: str  # "sqlite" or "postgresql"

    @property
    def postgres(self) -> bool:
        return self.dialect == "postgresql"

    def day(self, column: str) -> str:
        """The UTC day of a timestamp column."""
        if self.postgres:
            return f"CAST(timezone('UTC', {column}) AS DATE)"
        return f"date({column})"

    def days_since(self, day: str) -> str:
        """Whole days from `day` to the :as_of parameter."""
        if self.postgres:
            return f"(CAST(:as_of AS DATE) - {day})"
        return f"CAST(julianday(:as_of) - julianday({day}) AS INTEGER)"

    def cents(self, column: str) -> str:
        kind = "BIGINT" if self.postgres else "INTEGER"
        return f"CAST(round({column} * 100) AS {kind})"

    def real(self, expression: str) -> str:
        return f"CAST({expression} AS {'DOUBLE PRECISION' if self.postgres else 'REAL'})"

    def floor(self, expression: str) -> str:
        """Integer part of a non-negative number (Python's int())."""
        return f"floor({expression})" if self.postgres else f"CAST({expression} AS INTEGER)"

    def least(self, a: str, b: str) -> str:
        return f"least({a}, {b})" if self.postgres else f"min({a}, {b})"

    def moment(self, value: datetime):
        """A timestamp parameter: aware UTC for PostgreSQL, SQLite's stored text."""
        value = value.astimezone(UTC)
        if self.postgres:
            return value
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")

    def day_param(self, value: date):
        return value if self.postgres else value.isoformat()

    def statement(self, sql: str) -> str:
        """`:name` parameters in the driver's style (psycopg: `%(name)s`)."""
        if self.postgres:
            return re.sub(r"(?<![:\w]):([a-z_][a-z0-9_]*)", r"%(\1)s", sql)
        return sql


def as_date(value) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).date() if value.tzinfo else value.date()
    return date.fromisoformat(str(value)[:10])


def session_run(session: Session) -> tuple[Run, Sql]:
    """Plain SQL through the session's connection (its statement budgets included); the
    session's pending changes are flushed first, as its own execute would."""
    if session.autoflush:
        session.flush()
    connection = session.connection()

    def run(statement: str, params: dict):
        return connection.exec_driver_sql(statement, params).all()

    return run, Sql(connection.dialect.name)
