"""One big load of orders: the SQLite page cache and the secondary indexes.

Both are set inside the import's transaction, so the import stays all or nothing: a
dropped index comes back in the same transaction (DDL is transactional on SQLite and
PostgreSQL), and a failed import rolls the drop back with everything else.

Measured (README, "Import, streaming"): SQLite's default page cache (2 MB) makes every
index insert of a large load a page read; a 64 MB cache for the load cut the orders'
insert by a third, and rebuilding the two secondary indexes once after the load (a sort)
costs less than inserting into them row by row when the load at least doubles the table.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Index
from sqlalchemy.schema import CreateIndex

from bot.retention.importer.writing import ORDERS

# SQLite page cache for the import's connection while it loads (KiB; negative in PRAGMA).
BULK_CACHE_KIB = 65_536


@contextmanager
def bulk_cache(connection: Connection) -> Iterator[None]:
    """A larger SQLite page cache while the block runs; the pooled connection gets its
    own size back afterwards. Nothing to do on PostgreSQL (its buffers are the server's)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    connection.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={int(before)}")


def secondary_indexes() -> list[Index]:
    """The orders' indexes that no step of the load reads (the unique key on account and
    order key stays: it matches re-imported orders and refuses duplicates)."""
    return sorted(ORDERS.indexes, key=lambda index: index.name)


def worth_rebuilding(connection: Connection, new_rows: int) -> bool:
    """Rebuild rather than maintain the secondary indexes: a SQLite load that at least
    doubles the orders (the highest id stands in for the stored count: no scan)."""
    if connection.dialect.name != "sqlite" or not new_rows:
        return False
    stored = connection.exec_driver_sql('SELECT MAX(id) FROM "order"').scalar() or 0
    return new_rows >= stored


@contextmanager
def indexes_rebuilt_after(connection: Connection, rebuild: bool) -> Iterator[None]:
    """Drop the secondary indexes for the block and create them again after it (when
    `rebuild`), in the caller's transaction."""
    if not rebuild:
        yield
        return
    indexes = secondary_indexes()
    for index in indexes:
        connection.exec_driver_sql(f"DROP INDEX IF EXISTS {index.name}")
    yield
    for index in indexes:
        connection.execute(CreateIndex(index))
