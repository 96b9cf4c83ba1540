"""Migration 0010 moves each account plan's comma-separated tactic ids into
`account_plan_tactic` rows and back, keeping every plan's tactics and their order."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from alembic import command

from bot.db import Database, alembic_config

PG_ADMIN_URL = os.environ.get(
    "REBUY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)
PLANS = {"acme": "a,b,c", "globex": "", "initech": "ask-for-referral"}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:
    """A database with no schema yet (this test migrates it step by step)."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'migrate.db'}")
        yield database
        database.dispose()
        return
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"rebuy_migrate_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as error:
        admin.dispose()
        if os.environ.get("REBUY_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required but unreachable: {error}")
        pytest.skip("PostgreSQL not reachable")
    url = sa.engine.make_url(PG_ADMIN_URL).set(database=name)
    database = Database(url.render_as_string(hide_password=False))
    yield database
    database.dispose()
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _downgrade(database: Database, revision: str) -> None:
    with database.engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def _seed_plans_at_0009(database: Database) -> dict[str, int]:
    ids: dict[str, int] = {}
    with database.engine.begin() as connection:
        for name, tactic_ids in PLANS.items():
            account_id = connection.execute(
                sa.text(
                    "INSERT INTO account (external_id, name, name_key, tier, created_at, "
                    "updated_at) VALUES (:name, :name, :name, 'mid', :now, :now) RETURNING id"
                ),
                {"name": name, "now": NOW},
            ).scalar_one()
            ids[name] = connection.execute(
                sa.text(
                    "INSERT INTO account_plan (account_id, current_state, target_state, "
                    "horizon, tactic_ids, updated_at) VALUES (:account_id, 'now', 'later', "
                    ":horizon, :tactic_ids, :now) RETURNING id"
                ),
                {
                    "account_id": account_id,
                    "horizon": date(2026, 9, 1),
                    "tactic_ids": tactic_ids,
                    "now": NOW,
                },
            ).scalar_one()
    return ids


def _rows(database: Database) -> dict[int, list[str]]:
    with database.engine.connect() as connection:
        result = connection.execute(
            sa.text(
                "SELECT account_plan_id, tactic_id FROM account_plan_tactic "
                "ORDER BY account_plan_id, position"
            )
        )
        rows: dict[int, list[str]] = {}
        for plan_id, tactic_id in result:
            rows.setdefault(plan_id, []).append(tactic_id)
        return rows


def _columns(database: Database) -> dict[int, str]:
    with database.engine.connect() as connection:
        return dict(connection.execute(sa.text("SELECT id, tactic_ids FROM account_plan")).all())


def test_plans_keep_their_tactics_through_upgrade_and_downgrade(empty_db: Database) -> None:
    empty_db.upgrade("0009")
    ids = _seed_plans_at_0009(empty_db)

    empty_db.upgrade("0010")
    assert _rows(empty_db) == {ids["acme"]: ["a", "b", "c"], ids["initech"]: ["ask-for-referral"]}
    assert "tactic_ids" not in {
        c["name"] for c in sa.inspect(empty_db.engine).get_columns("account_plan")
    }

    _downgrade(empty_db, "0009")
    assert empty_db.stored_revision() == "0009"
    assert _columns(empty_db) == {ids[name]: text for name, text in PLANS.items()}
    assert "account_plan_tactic" not in sa.inspect(empty_db.engine).get_table_names()

    empty_db.upgrade("0010")  # and up again
    assert _rows(empty_db)[ids["acme"]] == ["a", "b", "c"]


def test_a_plan_saved_twice_rewrites_its_tactics_in_order(empty_db: Database) -> None:
    from bot.retention.tactics.plans import plan_tactic_ids, set_plan_tactic_ids
    from models import AccountPlan
    from tests.support import factories as f

    empty_db.upgrade()
    with empty_db.transaction() as session:
        plan = f.plan(session, f.account(session), tactic_ids=["a", "b", "c"])
        plan_id = plan.id
    for chosen in (["c", "a"], ["d", "c", "b", "a"], []):
        with empty_db.transaction() as session:
            set_plan_tactic_ids(session.get(AccountPlan, plan_id), chosen)
        with empty_db.session() as session:
            assert plan_tactic_ids(session.get(AccountPlan, plan_id)) == chosen
    assert _rows(empty_db) == {}
