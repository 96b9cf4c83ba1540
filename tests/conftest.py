"""Shared fixtures: a fresh, migrated database per test on SQLite and on PostgreSQL, the
Slack Web API double (`double`) and Rebuy's Slack app served over HTTP (`slack_app`).

PostgreSQL runs when it is reachable (REBUY_TEST_POSTGRES_URL, default the local
`test` database); with REBUY_REQUIRE_POSTGRES=1 (CI) an unreachable server fails
the run instead of skipping.
"""

from __future__ import annotations

import gc
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from bot.db import Database
from tests.support.databases import open_database
from tests.support.factories import NOW
from tests.support.postgres import PG_ADMIN_URL, REQUIRE_PG, pg_reachable

if TYPE_CHECKING:
    from tests.doubles.slack_double import SlackDouble
    from tests.support.slack_app import SlackApp


def pytest_configure(config: pytest.Config) -> None:
    # The tests allocate objects by the million (SQLAlchemy statements, Bolt requests,
    # Block Kit dicts), nearly all freed by reference counting. At Python's default
    # (a collection every 700 net allocations) the cycle collector took about a sixth
    # of the suite's CPU; a collection every 50,000 keeps memory flat all the same.
    gc.set_threshold(50_000, 20, 20)
    config.addinivalue_line(
        "markers", "real_clock: the `double` fixture stamps messages with the real time"
    )
    config.addinivalue_line(
        "markers",
        "both_databases: an end-to-end test that runs on PostgreSQL too (tests/e2e/conftest.py)",
    )


def pytest_collection_finish(session: pytest.Session) -> None:
    """The modules and tests collected live all run long: out of every later collection."""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _no_slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see a developer's real Slack or database settings."""
    for name in list(os.environ):
        if name.startswith("SLACK_") or name in {
            "DATABASE_URL",
            "REBUY_NOW",
            "ADMIN_USER_IDS",
            "DIGEST_CHANNEL",
            "REMINDER_TIME",
            "REMINDER_MAX_PER_DAY",
            "PORT",
        }:
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating each time is slow)."""
    path = tmp_path_factory.mktemp("template") / "rebuy.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    with database.engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A private PostgreSQL database for this test process, migrated once."""
    problem = pg_reachable()
    if problem:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required but unreachable at {PG_ADMIN_URL}: {problem}")
        pytest.skip(f"PostgreSQL not reachable ({problem})")
    name = f"rebuy_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    database = Database(url)
    database.upgrade()
    database.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A fresh, migrated, empty database: SQLite always, PostgreSQL when reachable."""
    database = open_database(request.param, request, tmp_path)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """SQLite only, for tests about SQLite's own behaviour."""
    path = tmp_path / "rebuy.db"
    shutil.copy(sqlite_template, path)
    database = Database(f"sqlite:///{path}")
    yield database
    database.dispose()


# The Slack double and the served app are imported when first used, so a run of the
# domain tests alone does not load Bolt and the HTTP server.


@pytest.fixture
def double(request: pytest.FixtureRequest) -> Iterator[SlackDouble]:
    """The local Slack Web API double. Its clock (message ts, `date` fields) is the tests'
    fixed NOW, or the real time in modules marked `real_clock`."""
    from tests.doubles.slack_double import SlackDouble

    if request.node.get_closest_marker("real_clock"):
        slack = SlackDouble()
    else:
        slack = SlackDouble(clock=lambda: NOW)
    with slack:
        yield slack


@pytest.fixture
def slack_app(db: Database, double: SlackDouble) -> Iterator[SlackApp]:
    """Rebuy's Slack app on `db`, served over HTTP, talking to `double`."""
    from tests.support.slack_app import build_runtime, serve, shut_down

    running = serve(build_runtime(db, double), double)
    try:
        yield running
    finally:
        shut_down(running)
