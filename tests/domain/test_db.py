from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.db import Database, SchemaOutOfDate
from models import Order, Rep
from tests.support import factories as f


def test_migrations_reach_head_and_match_the_models(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    assert db.current_revision() is not None
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_datetimes_come_back_as_aware_utc(db: Database) -> None:
    local = datetime(2026, 3, 29, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    with db.transaction() as session:
        session.add(Rep(email="tz@example.com", created_at=local))
    with db.session() as session:
        stored = session.exec(select(Rep)).one().created_at
    assert stored == local
    assert stored.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(db: Database) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), db.transaction() as session:
        session.add(Rep(email="naive@example.com", created_at=datetime(2026, 1, 1)))
        session.flush()


def test_order_key_is_unique_per_account(db: Database) -> None:
    with db.transaction() as session:
        acct = f.account(session)
        f.order(session, acct, "2026-01-01", order_key="A-1")
    with pytest.raises(IntegrityError), db.transaction() as session:
        f.order(session, acct, "2026-02-01", order_key="A-1")


def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(IntegrityError), db.transaction() as session:
        session.add(Order(account_id=999, ordered_at=datetime.now(UTC), amount=1, order_key="x"))
        session.flush()


def test_sqlite_runs_in_wal_mode(sqlite_db: Database) -> None:
    with sqlite_db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_migrations_run_down_and_up_again(tmp_path) -> None:
    from alembic import command

    from bot.db import alembic_config

    database = Database(f"sqlite:///{tmp_path / 'roundtrip.db'}")
    database.upgrade()
    with database.engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert database.current_revision() is None
    database.upgrade()
    assert database.current_revision() is not None
    database.dispose()


def test_schema_head_is_alembic_head_and_a_current_database_skips_alembic(db: Database) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    from bot.db import SCHEMA_HEAD, alembic_config

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_HEAD
    assert db.stored_revision() == SCHEMA_HEAD
    previous = ScriptDirectory.from_config(alembic_config()).get_revision(SCHEMA_HEAD).down_revision
    with db.engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")
    assert db.stored_revision() == previous
    with pytest.raises(SchemaOutOfDate, match="run `rebuy db upgrade`") as refused:
        db.require_schema()  # a reader: one query, no migration
    assert refused.value.stored == previous
    assert db.stored_revision() == previous
    db.ensure_schema()  # behind: migrates to the head again
    assert db.stored_revision() == SCHEMA_HEAD


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgres://rebuy@db.example/rebuy", "postgresql+psycopg"),  # what many hosts hand out
        ("postgresql://rebuy@db.example/rebuy", "postgresql+psycopg"),
        ("postgresql+psycopg://rebuy@db.example/rebuy", "postgresql+psycopg"),
        ("sqlite:///rebuy.db", "sqlite"),
    ],
)
def test_database_urls_rebuy_can_use(url: str, driver: str) -> None:
    from bot.db import database_url

    assert database_url(url).drivername == driver


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("rebuy.db", "DATABASE_URL “rebuy.db” is not a database URL: write sqlite:///"),
        ("sqlite://rebuy.db", "DATABASE_URL sqlite://rebuy.db… has two slashes"),
        ("sqllite:///rebuy.db", "DATABASE_URL: sqllite:// is not a database Rebuy can use"),
        (
            "postgresql+psycopg2://rebuy:secret@db/rebuy",
            "DATABASE_URL asks for the postgresql+psycopg2 driver",
        ),
    ],
)
def test_a_database_url_rebuy_cannot_use_says_how_to_write_one(url: str, says: str) -> None:
    # Before: "Something went wrong: NoSuchModuleError: Can't load plugin:
    # sqlalchemy.dialects:postgres" and the like.
    from bot.db import database_url
    from bot.retention.errors import RebuyError

    with pytest.raises(RebuyError) as refused:
        database_url(url)
    assert refused.value.message.startswith(says)
    assert "secret" not in refused.value.message
