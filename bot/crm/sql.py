"""A SQL database (ERP, shop, warehouse) as a live source: any SQLAlchemy URL, one query per kind.

    source = SqlSource(
        "postgresql+psycopg://erp@db/erp",
        {"orders": SqlQuery(
            "SELECT o.id, c.code, o.placed, o.total, p.name AS product FROM ...",
            columns={"order_id": "id", "account_external_id": "code",
                     "ordered_at": "placed", "amount": "total"},
            modified_column="updated_at", id_column="id")},
    )

Each query is wrapped as a subquery, so it may be any SELECT the database runs.
`columns` maps Rebuy's field names (README "CSV formats") to the query's
columns; unmapped fields are read from columns of the same name. With a
`modified_column` the pull is incremental: rows modified after the cursor (or at
the same time with a larger id, compared as text), oldest first. A row whose
values cannot be read is skipped with a reason naming the column and the row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.clock import as_utc
from bot.crm.base import (
    KINDS,
    AccountRow,
    Batch,
    ContactRow,
    Cursor,
    OrderRow,
    Row,
    Skipped,
    SourceError,
    TouchRow,
)
from bot.retention.touch_kinds import touch_kind
from models import TOUCH_KINDS

_ROW_TYPES: dict[str, type] = {
    "accounts": AccountRow,
    "contacts": ContactRow,
    "orders": OrderRow,
    "touches": TouchRow,
}
_DEFAULT_IDS = {
    "accounts": "external_id",
    "contacts": "external_id",
    "orders": "order_id",
    "touches": "external_id",
}


@dataclass(frozen=True)
class SqlQuery:
    sql: str
    columns: Mapping[str, str] = field(default_factory=dict)  # Rebuy field -> query column
    modified_column: str | None = None
    id_column: str | None = None  # default: the kind's own id field, mapped

    def column(self, name: str) -> str:
        return self.columns.get(name, name)


class _BadValue(Exception):
    pass


class SqlSource:
    """Pulls the kinds it has a query for from one database."""

    name = "sql"

    def __init__(
        self,
        url: str | Engine,
        queries: Mapping[str, SqlQuery],
        *,
        page_size: int = 1000,
    ) -> None:
        unknown = sorted(set(queries) - set(KINDS))
        if unknown:
            raise SourceError(
                f"SQL source: no kind called {', '.join(unknown)}; use {', '.join(KINDS)}."
            )
        self.engine = url if isinstance(url, Engine) else sa.create_engine(url)
        self.queries = dict(queries)
        self.streams = tuple(k for k in KINDS if k in queries)
        self.page_size = page_size

    def pull(self, kind: str, cursor: Cursor | None = None) -> Iterator[Batch]:
        query = self.queries.get(kind)
        if query is None:
            raise SourceError(f"The SQL source has no query for {kind}.")
        id_column = query.id_column or query.column(_DEFAULT_IDS[kind])
        statement, params = self._statement(query, id_column, cursor)
        try:
            with self.engine.connect() as connection:
                result = connection.execution_options(yield_per=self.page_size).execute(
                    statement, params
                )
                names = list(result.keys())
                missing = sorted(
                    {query.column(f.name) for f in fields(_ROW_TYPES[kind]) if _required(f)}
                    - set(names)
                )
                if missing:
                    raise SourceError(
                        f"The {kind} query has no column {', '.join(missing)}"
                        f" (it returns {', '.join(names)}); map them with `columns`."
                    )
                for chunk in result.mappings().partitions(self.page_size):
                    yield self._batch(kind, query, id_column, chunk)
        except sa.exc.SQLAlchemyError as error:
            reason = str(getattr(error, "orig", None) or error).splitlines()[0]
            raise SourceError(f"The {kind} query failed on the SQL source: {reason}") from error

    def _statement(
        self, query: SqlQuery, id_column: str, cursor: Cursor | None
    ) -> tuple[sa.TextClause | sa.Select[Any], dict[str, Any]]:
        inner = sa.text(query.sql).columns().subquery("source")
        if query.modified_column is None:
            return sa.select(sa.text("*")).select_from(inner), {}
        modified = sa.column(query.modified_column, sa.DateTime(timezone=True))
        record_id = sa.cast(sa.column(id_column), sa.String)
        select = sa.select(sa.text("*")).select_from(inner).order_by(modified, record_id)
        if cursor is None:
            return select, {}
        when = cursor.modified_at
        if self.engine.dialect.name == "sqlite":
            when = when.replace(tzinfo=None)  # SQLite keeps naive UTC text
        t = sa.bindparam("cursor_at", when, type_=sa.DateTime(timezone=True))
        i = sa.bindparam("cursor_id", cursor.record_id, type_=sa.String)
        select = select.where(sa.or_(modified > t, sa.and_(modified == t, record_id > i)))
        return select, {}

    def _batch(
        self, kind: str, query: SqlQuery, id_column: str, chunk: list[Mapping[str, Any]]
    ) -> Batch:
        rows: list[Row] = []
        skipped: list[Skipped] = []
        for row in chunk:
            record_id = "" if row.get(id_column) is None else str(row[id_column])
            try:
                rows.append(_row(kind, query, row))
            except _BadValue as error:
                skipped.append(Skipped(record_id, str(error)))
        cursor = None
        if query.modified_column is not None and chunk:
            last = chunk[-1]
            stamp = _when(last[query.modified_column], query.modified_column)
            cursor = Cursor(stamp, "" if last[id_column] is None else str(last[id_column]))
        return Batch(kind, tuple(rows), skipped=tuple(skipped), cursor=cursor)


def _required(f: Any) -> bool:
    return f.default is MISSING and f.default_factory is MISSING


def _row(kind: str, query: SqlQuery, row: Mapping[str, Any]) -> Row:
    row_type = _ROW_TYPES[kind]
    values: dict[str, Any] = {}
    for f in fields(row_type):
        column = query.column(f.name)
        value = row.get(column)
        optional = not _required(f)
        if value is None or (isinstance(value, str) and not value.strip()):
            if not optional:
                raise _BadValue(f"{column} is empty")
            values[f.name] = None
            continue
        values[f.name] = _convert(f.name, value, column)
    return row_type(**values)


def _convert(name: str, value: Any, column: str) -> Any:
    if name in ("ordered_at", "touched_at"):
        return _when(value, column)
    if name in ("amount", "annual_value"):
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise _BadValue(f"{column} “{value}” is not an amount") from None
        if not amount.is_finite():
            raise _BadValue(f"{column} “{value}” is not an amount")
        return amount
    if name == "cadence_days":
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _BadValue(f"{column} “{value}” is not a whole number of days") from None
    if name == "kind":
        kind = touch_kind(str(value))
        if kind is None:
            raise _BadValue(f"{column} “{value}” is not one of {', '.join(TOUCH_KINDS)}")
        return kind
    return str(value).strip()


def _when(value: Any, column: str) -> datetime:
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    try:
        return as_utc(datetime.fromisoformat(str(value).strip().replace("Z", "+00:00")))
    except ValueError:
        raise _BadValue(f"{column} “{value}” is not a date or time") from None
