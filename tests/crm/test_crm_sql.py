"""The SQL source: ERP orders read with one query and a column mapping (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.crm.base import Batch, Cursor, OrderRow, SourceError, TouchRow
from bot.crm.sql import SqlQuery, SqlSource

BASE = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def erp(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[sa.Engine, str]]:
    """An ERP database with an `orders` table of 25 rows, three changed each second."""
    if request.param == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    else:
        engine = sa.create_engine(request.getfixturevalue("pg_url"))
    name = f"erp_orders_{uuid.uuid4().hex[:8]}"
    table = sa.Table(
        name,
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer", sa.String(20)),
        sa.Column("placed", sa.DateTime(timezone=True)),
        sa.Column("total", sa.Numeric(12, 2)),
        sa.Column("item", sa.String(40)),
        sa.Column("changed", sa.DateTime(timezone=True)),
    )
    table.create(engine)
    with engine.begin() as connection:
        connection.execute(
            table.insert(),
            [
                {
                    "id": i,
                    "customer": f"C{i % 7}",
                    "placed": BASE - timedelta(days=i),
                    "total": Decimal(i * 10) + Decimal("0.25"),
                    "item": None if i % 2 else "Widget",
                    "changed": BASE + timedelta(seconds=i // 3),
                }
                for i in range(1, 26)
            ],
        )
    yield engine, name
    table.drop(engine)
    engine.dispose()


def orders_query(table: str, **extra: object) -> SqlQuery:
    return SqlQuery(
        f"SELECT id, customer, placed, total, item, changed FROM {table}",
        columns={
            "order_id": "id",
            "account_external_id": "customer",
            "ordered_at": "placed",
            "amount": "total",
            "product": "item",
        },
        modified_column="changed",
        id_column="id",
        **extra,  # type: ignore[arg-type]
    )


def all_rows(batches: list[Batch]) -> list[object]:
    return [r for b in batches for r in b.rows]


def test_orders_are_read_and_mapped(erp: tuple[sa.Engine, str]) -> None:
    engine, table = erp
    source = SqlSource(engine, {"orders": orders_query(table)}, page_size=10)

    batches = list(source.pull("orders"))

    assert [len(b.rows) for b in batches] == [10, 10, 5]
    first = next(r for r in all_rows(batches) if r.order_id == "2")  # type: ignore[attr-defined]
    assert first == OrderRow("C2", BASE - timedelta(days=2), Decimal("20.25"), "2", "Widget")
    assert batches[-1].cursor == Cursor(BASE + timedelta(seconds=8), "25")


def test_resuming_from_any_batch_cursor_yields_the_rest_once(erp: tuple[sa.Engine, str]) -> None:
    engine, table = erp
    source = SqlSource(engine, {"orders": orders_query(table)}, page_size=4)
    batches = list(source.pull("orders"))
    everything = [r.order_id for r in all_rows(batches)]  # type: ignore[attr-defined]

    for n, batch in enumerate(batches[:-1]):
        rest = [r.order_id for r in all_rows(list(source.pull("orders", batch.cursor)))]  # type: ignore[attr-defined]
        assert rest == everything[(n + 1) * 4 :]


def test_changed_rows_are_pulled_again(erp: tuple[sa.Engine, str]) -> None:
    engine, table = erp
    source = SqlSource(engine, {"orders": orders_query(table)})
    cursor = list(source.pull("orders"))[-1].cursor
    with engine.begin() as connection:
        connection.execute(
            sa.text(f"UPDATE {table} SET total = 1, changed = :t WHERE id IN (3, 4)"),
            {"t": BASE + timedelta(hours=1)},
        )

    again = all_rows(list(source.pull("orders", cursor)))

    assert sorted(r.order_id for r in again) == ["3", "4"]  # type: ignore[attr-defined]


def test_bad_values_are_skipped_with_the_column_named(erp: tuple[sa.Engine, str]) -> None:
    engine, table = erp
    with engine.begin() as connection:
        connection.execute(sa.text(f"UPDATE {table} SET customer = NULL WHERE id = 5"))
    source = SqlSource(engine, {"orders": orders_query(table)})

    batches = list(source.pull("orders"))

    assert [(s.record_id, s.reason) for b in batches for s in b.skipped] == [
        ("5", "customer is empty")
    ]
    assert len(all_rows(batches)) == 24


def test_a_query_missing_a_needed_column_is_refused_by_name(erp: tuple[sa.Engine, str]) -> None:
    engine, table = erp
    query = SqlQuery(
        f"SELECT id, total FROM {table}", columns={"order_id": "id", "amount": "total"}
    )
    with pytest.raises(SourceError, match="no column account_external_id, ordered_at"):
        list(SqlSource(engine, {"orders": query}).pull("orders"))


def test_a_failing_query_says_which_kind(erp: tuple[sa.Engine, str]) -> None:
    engine, _ = erp
    query = SqlQuery("SELECT * FROM no_such_table")
    with pytest.raises(SourceError, match="The orders query failed on the SQL source"):
        list(SqlSource(engine, {"orders": query}).pull("orders"))


def test_touches_without_a_modified_column_are_read_whole(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE acts (acc TEXT, at TEXT, type TEXT, who TEXT)")
        connection.exec_driver_sql(
            "INSERT INTO acts VALUES ('A1', '2026-01-05T10:00:00Z', 'Call', 'ana@x.org'),"
            " ('A2', '2026-01-06', 'fax', NULL)"
        )
    query = SqlQuery(
        "SELECT rowid AS id, acc, at, type, who FROM acts",
        columns={
            "account_external_id": "acc",
            "touched_at": "at",
            "kind": "type",
            "rep_email": "who",
            "external_id": "id",
        },
    )

    (batch,) = list(SqlSource(engine, {"touches": query}).pull("touches"))

    assert batch.rows == (
        TouchRow("A1", datetime(2026, 1, 5, 10, tzinfo=UTC), "call", "ana@x.org", None, "1"),
    )
    assert batch.skipped[0].reason.startswith("type “fax” is not one of call, email")
    assert batch.cursor is None
