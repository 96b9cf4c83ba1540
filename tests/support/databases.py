"""The tests' databases: a fresh, migrated, empty SQLite file (a copy of one migrated
template) or the worker's PostgreSQL database emptied in one round trip."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from bot.db import Database

_EMPTY_ALL: dict[str, str] = {}


def empty_all(database: Database) -> None:
    """Empty every table and restart its ids, in one round trip.

    DELETE on tables this small is much cheaper than TRUNCATE, which rewrites files; the
    statements go as one batch (one round trip instead of one per table and sequence).
    """
    url = database.engine.url.render_as_string(hide_password=False)
    if url not in _EMPTY_ALL:
        with database.engine.connect() as connection:
            sequences = connection.execute(
                sa.text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
            ).scalars()
            restarts = [f'ALTER SEQUENCE "{name}" RESTART' for name in sequences]
        deletes = [f'DELETE FROM "{t.name}"' for t in reversed(SQLModel.metadata.sorted_tables)]
        _EMPTY_ALL[url] = ";\n".join(deletes + restarts)
    with database.engine.begin() as connection:
        connection.exec_driver_sql(_EMPTY_ALL[url])


def open_database(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    """A fresh, migrated, empty database of `kind` ("sqlite" or "postgresql")."""
    if kind == "sqlite":
        path = tmp_path / "rebuy.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return Database(f"sqlite:///{path}")
    database = Database(request.getfixturevalue("pg_url"))
    empty_all(database)
    return database
