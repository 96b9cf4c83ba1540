"""One big load of orders: the SQLite page cache and the secondary indexes.

Both are set inside the import's transaction, so the import stays all or nothing: a
dropped index comes back in the same transaction (DDL is transactional on SQLite and
PostgreSQL), and a failed import rolls the drop back with everything else.

Measured (README, "Import, streaming"): SQLite's default page cache (2 MB) makes every
index insert of a large load a page read; a 64 MB cache for the load cut the orders'
insert by a third, and rebuilding the two secondary indexes once after the load (a sort)
costs less than inserting into them row by row when the load at least doubles the table;
on PostgreSQL the same holds, and the foreign key's per-row trigger costs more still.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress

from sqlalchemy import Connection

# SQLite page cache for the import's connection while it loads (KiB; negative in PRAGMA).
BULK_CACHE_KIB = 65_536


def refresh_statistics(connection: Connection, *tables: str) -> None:
    """PostgreSQL: ANALYZE `tables` after a large load, or the planner sees them as they
    were before it (a table that was empty gets nested loops: minutes, not seconds).
    Nothing to do on SQLite, whose plans follow its indexes."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("ANALYZE " + ", ".join(f'"{table}"' for table in tables))


@contextmanager
def bulk_cache(connection: Connection) -> Iterator[None]:
    """A larger SQLite page cache while the block runs; the pooled connection gets its
    own size back afterwards. Nothing to do on PostgreSQL (its buffers are the server's)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    before = connection.exec_driver_sql("PRAGMA cache_size").scalar()
    restore = f"PRAGMA cache_size={int(before)}"
    connection.exec_driver_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    try:
        yield
    except BaseException:
        # Ctrl-C (or any error) mid-load: SQLAlchemy invalidates the connection on a
        # KeyboardInterrupt, and a statement on it would raise PendingRollbackError in
        # place of the interrupt ("Interrupted: nothing was imported." never shown). An
        # invalidated connection leaves the pool, so there is no cache size to restore.
        if not connection.invalidated:
            with suppress(Exception):
                connection.exec_driver_sql(restore)
        raise
    connection.exec_driver_sql(restore)


_SQLITE_INDEXES = (
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'order' "
    "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'"
)
_POSTGRES_INDEXES = (
    "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
    "JOIN pg_class c ON c.oid = i.indexrelid "
    """WHERE i.indrelid = '"order"'::regclass AND NOT i.indisunique"""
)
# PostgreSQL checks a foreign key with a trigger per inserted row; adding the constraint
# back checks every row in one join.
_POSTGRES_FOREIGN_KEYS = (
    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
    """WHERE conrelid = '"order"'::regclass AND contype = 'f'"""
)


def worth_rebuilding(connection: Connection, new_rows: int) -> bool:
    """Rebuild rather than maintain the secondary indexes when the load at least doubles
    the orders (the highest id stands in for the stored count: no scan)."""
    if not new_rows:
        return False
    stored = connection.exec_driver_sql('SELECT MAX(id) FROM "order"').scalar() or 0
    return new_rows >= stored


@contextmanager
def indexes_rebuilt_after(connection: Connection, rebuild: bool) -> Iterator[None]:
    """When `rebuild`: drop the orders' non-unique indexes (and on PostgreSQL their
    foreign key to the accounts) for the block and create them again, as they were
    defined, after it, in the caller's transaction. The unique key on account and order
    key stays: it matches re-imported orders and refuses duplicates.

    On PostgreSQL the drop locks the orders table until the import commits (readers of
    orders wait), which is why only a load that at least doubles the table does it."""
    if not rebuild:
        yield
        return
    postgres = connection.dialect.name == "postgresql"
    run = connection.exec_driver_sql
    indexes = list(run(_POSTGRES_INDEXES if postgres else _SQLITE_INDEXES))
    keys = list(run(_POSTGRES_FOREIGN_KEYS)) if postgres else []
    for name, _definition in keys:
        run(f'ALTER TABLE "order" DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        run(f'DROP INDEX "{name}"')
    yield
    for _name, definition in indexes:
        run(definition)
    for name, definition in keys:
        run(f'ALTER TABLE "order" ADD CONSTRAINT "{name}" {definition}')
    refresh_statistics(connection, "order")  # the table at least doubled
