"""Bulk reads and writes for the planners: narrow queries in, the driver's executemany out.

Orders files run to millions of rows, so values are converted to what the database
driver expects once per distinct value and written with the driver's `executemany`,
a chunk at a time (each chunk reports progress, so a long write shows signs of life).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Column, Table, bindparam, select, update
from sqlmodel import Session

from bot.retention.importer.reading import CsvRows
from models import Account, Contact, Order, Rep, RfmCutoffs, Touch

WRITE_CHUNK = 10_000
# Existing rows are fetched for the file's accounts in batches of ids; beyond this
# many accounts one scan of the whole table is cheaper than thousands of look-ups.
_SCAN_ALL_ABOVE = 20_000
_IDS_PER_QUERY = 1_000

ACCOUNTS: Table = Account.__table__  # type: ignore[attr-defined]
ORDERS: Table = Order.__table__  # type: ignore[attr-defined]
CONTACTS: Table = Contact.__table__  # type: ignore[attr-defined]
REPS: Table = Rep.__table__  # type: ignore[attr-defined]
TOUCHES: Table = Touch.__table__  # type: ignore[attr-defined]
RFM_CUTOFFS: Table = RfmCutoffs.__table__  # type: ignore[attr-defined]

Tick = Callable[[int], None]


def account_ids(session: Session) -> dict[str, int]:
    """external_id -> id for every account, in one narrow query."""
    return dict(session.execute(select(ACCOUNTS.c.external_id, ACCOUNTS.c.id)).all())


def limit_of(column: Column[Any]) -> int:
    return column.type.length  # type: ignore[attr-defined,no-any-return]


def too_long(text: str, limit: int) -> str:
    return f"is {len(text):,} characters long; the limit is {limit:,}"


def required(rows: CsvRows, line: int, column: str, text: str, limit: int | None) -> str:
    text = text.strip()
    if not text:
        rows.bad(line, column, "is empty", "")
    elif limit is not None and len(text) > limit:
        rows.bad(line, column, too_long(text, limit), text)
    return text


def one_line(text: str) -> str:
    """A name on one line: any run of whitespace, line breaks included (a quoted CSV cell
    may hold them), becomes one space, so a name never breaks a card or a reminder."""
    return " ".join(text.split())


def binder(session: Session, column: Column[Any]) -> Callable[[Any], Any]:
    """The column type's conversion to the driver's value (e.g. a UTC string on SQLite)."""
    dialect = session.get_bind().dialect
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return _same
    return lambda value: None if value is None else process(value)


def _same(value: Any) -> Any:
    return value


def existing(
    session: Session, query: Any, table: Table, wanted: set[int]
) -> dict[tuple[int, str], tuple[Any, ...]]:
    """Stored rows of the file's accounts: (account id, key) -> (id, *compared values)."""
    if not wanted or session.execute(select(table.c.id).limit(1)).first() is None:
        return {}
    if len(wanted) > _SCAN_ALL_ABOVE:
        return {
            (account_id, key): tuple(rest)
            for account_id, key, *rest in session.execute(query)
            if account_id in wanted
        }
    found: dict[tuple[int, str], tuple[Any, ...]] = {}
    ids = sorted(wanted)
    for start in range(0, len(ids), _IDS_PER_QUERY):
        batch = ids[start : start + _IDS_PER_QUERY]
        for account_id, key, *rest in session.execute(query.where(table.c.account_id.in_(batch))):
            found[account_id, key] = tuple(rest)
    return found


def insert(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    tick: Tick | None = None,
) -> None:
    """INSERT with the driver's executemany; `rows` already hold driver values.

    SQLAlchemy's per-row parameter processing costs more than the database does
    for wide imports, so values are converted beforehand (see `binder`) and the
    statement goes straight to the driver.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    if dialect.paramstyle == "qmark":
        marks = ["?"] * len(columns)
    elif dialect.paramstyle in ("format", "pyformat"):
        marks = ["%s"] * len(columns)
    elif dialect.paramstyle == "numeric":
        marks = [f":{n}" for n in range(1, len(columns) + 1)]
    else:  # pragma: no cover - SQLite and PostgreSQL drivers use the styles above
        raise ValueError(f"database driver paramstyle {dialect.paramstyle!r} is not supported")
    statement = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in columns)}) "
        f"VALUES ({', '.join(marks)})"
    )
    for start in range(0, len(rows), WRITE_CHUNK):
        chunk = list(rows[start : start + WRITE_CHUNK])
        connection.exec_driver_sql(statement, chunk)
        if tick is not None:
            tick(len(chunk))


def update_rows(
    session: Session, table: Table, changes: list[dict[str, Any]], tick: Tick | None = None
) -> None:
    """UPDATE by primary key (`_id`) with executemany; each dict names the same columns."""
    if not changes:
        return
    # The SET clause comes from the parameters' keys; "_id" only feeds the WHERE.
    statement = update(table).where(table.c.id == bindparam("_id"))
    for start in range(0, len(changes), WRITE_CHUNK):
        chunk = changes[start : start + WRITE_CHUNK]
        session.execute(statement, chunk)
        if tick is not None:
            tick(len(chunk))
