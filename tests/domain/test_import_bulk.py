"""A big orders load rebuilds the secondary indexes (and on PostgreSQL the foreign key)
inside the import's transaction: afterwards the schema is as before, the summary equals a
recomputation, and a failed load leaves nothing behind, the indexes included."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.db import Database
from bot.retention.importer import bulk
from bot.retention.importer import orders as orders_module
from models import Account, Order
from tests.support import factories as f
from tests.support.importing import NOW, run, write
from tests.support.summaries import expected_summaries, stored_summaries

HEADER = "account_external_id,ordered_at,amount,order_id,product\n"


def schema_of_orders(db: Database) -> tuple[list, list]:
    """The orders' non-unique index definitions and foreign keys, as the database has them."""
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            indexes = connection.exec_driver_sql(bulk._POSTGRES_INDEXES).all()
            keys = connection.exec_driver_sql(bulk._POSTGRES_FOREIGN_KEYS).all()
        else:
            indexes = connection.exec_driver_sql(bulk._SQLITE_INDEXES).all()
            keys = connection.exec_driver_sql('PRAGMA foreign_key_list("order")').all()
    return sorted(indexes), sorted(keys)


def orders_file(tmp_path: Path, rows: int, *, start: int = 0) -> Path:
    lines = [
        f"A{n % 3},2026-0{1 + n % 5}-{1 + n % 27:02d},{(n % 7) - 1}.50,SO-{n},Bolts"
        for n in range(start, start + rows)
    ]
    return write(tmp_path, f"orders-{start}.csv", HEADER + "\n".join(lines) + "\n")


@pytest.fixture
def accounts(db: Database) -> dict[str, int]:
    with db.transaction() as session:
        return {
            name: f.account(session, f"Account {name}", external_id=name).id
            for name in ("A0", "A1", "A2")
        }


def test_a_first_load_rebuilds_the_indexes_and_keeps_the_schema(
    db: Database, tmp_path: Path, accounts: dict[str, int], monkeypatch
) -> None:
    before = schema_of_orders(db)
    assert before[0], "the orders have secondary indexes to rebuild"
    dropped: list[bool] = []
    real = bulk.indexes_rebuilt_after

    def watched(connection, rebuild):
        dropped.append(rebuild)
        return real(connection, rebuild)

    monkeypatch.setattr("bot.retention.importer.staging.indexes_rebuilt_after", watched)
    result = run(db, "orders", orders_file(tmp_path, 300))
    assert result.created == 300
    assert dropped == [True]
    assert schema_of_orders(db) == before
    with db.session() as session:
        assert stored_summaries(session) == expected_summaries(session, NOW.date())
    # A small load into a bigger table maintains the indexes as it goes.
    result = run(db, "orders", orders_file(tmp_path, 20, start=300))
    assert result.created == 20
    assert dropped == [True, False]
    assert schema_of_orders(db) == before
    with db.session() as session:
        assert stored_summaries(session) == expected_summaries(session, NOW.date())


def test_the_foreign_key_still_holds_after_a_bulk_load(
    db: Database, tmp_path: Path, accounts: dict[str, int]
) -> None:
    run(db, "orders", orders_file(tmp_path, 60))
    with db.transaction() as session:
        session.execute(sa.delete(Account).where(Account.id == accounts["A1"]))
    with db.session() as session:
        left = session.execute(sa.select(Order.account_id).distinct()).scalars().all()
    assert sorted(left) == sorted([accounts["A0"], accounts["A2"]])


def test_a_load_that_fails_after_the_drop_leaves_nothing(
    db: Database, tmp_path: Path, accounts: dict[str, int], monkeypatch
) -> None:
    before = schema_of_orders(db)

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(orders_module, "refresh_summary", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        run(db, "orders", orders_file(tmp_path, 100))
    assert schema_of_orders(db) == before
    with db.session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Order)).scalar() == 0


def test_only_a_load_that_at_least_doubles_the_orders_rebuilds(
    db: Database, tmp_path: Path, accounts: dict[str, int]
) -> None:
    with db.engine.connect() as connection:
        assert not bulk.worth_rebuilding(connection, 0)
        assert bulk.worth_rebuilding(connection, 1)  # an empty table
    run(db, "orders", orders_file(tmp_path, 50))
    with db.engine.connect() as connection:
        assert not bulk.worth_rebuilding(connection, 49)
        assert bulk.worth_rebuilding(connection, 50)


def test_the_sqlite_cache_is_the_connection_own_again_after_an_import(
    sqlite_db: Database, tmp_path: Path
) -> None:
    with sqlite_db.transaction() as session:
        f.account(session, "Account A0", external_id="A0")
    with sqlite_db.transaction() as session:
        before = session.connection().exec_driver_sql("PRAGMA cache_size").scalar()
        with bulk.bulk_cache(session.connection()):
            inside = session.connection().exec_driver_sql("PRAGMA cache_size").scalar()
        after = session.connection().exec_driver_sql("PRAGMA cache_size").scalar()
    assert inside == -bulk.BULK_CACHE_KIB
    assert after == before != inside


def test_ctrl_c_during_the_load_is_an_interrupt_not_a_database_error(
    sqlite_db: Database, tmp_path: Path, monkeypatch
) -> None:
    # Ctrl-C inside a statement makes SQLAlchemy invalidate the connection; restoring
    # the page cache on it raised PendingRollbackError instead, so the CLI printed
    # "Something went wrong" rather than "Interrupted: nothing was imported."
    with sqlite_db.transaction() as session:
        for n in range(3):
            f.account(session, f"Account A{n}", external_id=f"A{n}")

    def interrupted(connection, *_args, **_kwargs):
        connection.invalidate()
        raise KeyboardInterrupt

    monkeypatch.setattr(orders_module, "refresh_summary", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(sqlite_db, "orders", orders_file(tmp_path, 100))
    with sqlite_db.session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Order)).scalar() == 0
