"""Orders arrive through a staging table: streamed in, checked and merged set-based.

A file of any length is read a chunk at a time into a temporary table inside the
import's transaction (SQLite: the driver's executemany; PostgreSQL: `COPY`), so memory
stays flat however long the file is. What needs the whole file (an order id repeated
on two lines, identical orders without an id) is found once reading is done, and the
stored orders are matched, inserted and updated with a few set-based statements. The
import stays all or nothing: the staging table lives and dies with the transaction.

After `write`, `account_ids` lists the accounts whose orders the import holds, for work
that must follow the orders in the same transaction (the per-account purchase summary).
"""

from __future__ import annotations

import tempfile
from array import array
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from sqlalchemy import Connection
from sqlmodel import Session

from bot.retention.importer.bulk import indexes_rebuilt_after, worth_rebuilding
from bot.retention.importer.writing import ORDERS

STAGE = "rebuy_order_stage"
_FIXES = "rebuy_order_stage_fix"
# Rows buffered in Python before they go to the staging table.
STAGE_CHUNK = 50_000
# Rows inserted into the orders per statement (each statement reports progress).
MERGE_CHUNK = 100_000
# Key hashes sorted in memory at once when looking for repeats (8 bytes each: 16 MB).
HASHES_AT_ONCE = 2_000_000
_COLUMNS = ("account_id", "ordered_at", "amount", "order_id", "order_key", "product")
# line, account id, driver ordered_at, driver amount, order id, order key, product, row hash
StagedRow = tuple[int, int, Any, Any, str | None, str, str | None, int]
Tick = Callable[[int], None]


class OrderStage:
    """The staging table of one orders import, in the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.connection: Connection = session.connection()
        self.postgres = self.connection.dialect.name == "postgresql"
        self.count = 0
        # Rows waiting for the next flush (the planner appends to it directly, and to
        # `keys` the hash((account id, order key)) of each: enough to find repeated keys
        # without a pass over the table when there are none).
        self.buffer: list[StagedRow] = []
        self.keys = KeyHashes()
        self._create()

    # --- loading ------------------------------------------------------------------------

    def _create(self) -> None:
        dialect = self.connection.dialect
        types = {c.name: c.type.compile(dialect) for c in ORDERS.columns}
        line = "integer" if self.postgres else "INTEGER PRIMARY KEY"
        columns = ", ".join(f"{name} {types[name]}" for name in _COLUMNS)
        drop_at_commit = " ON COMMIT DROP" if self.postgres else ""
        for table in (STAGE, _FIXES):
            self._run(f"DROP TABLE IF EXISTS {self._temp(table)}")
        self._run(
            f"CREATE TEMPORARY TABLE {STAGE} (line {line}, {columns}, row_hash bigint)"
            + drop_at_commit
        )

    def _temp(self, table: str) -> str:
        return table if self.postgres else f"temp.{table}"

    def _run(self, statement: str, parameters: Any = None) -> Any:
        return self.connection.exec_driver_sql(statement, parameters)

    def add(self, row: StagedRow) -> None:
        self.buffer.append(row)
        self.keys.append(hash((row[1], row[5])))
        if len(self.buffer) >= STAGE_CHUNK:
            self.flush()

    def flush(self) -> None:
        """Send the buffered rows to the staging table (the buffer is emptied in place)."""
        rows = self.buffer
        if not rows:
            return
        self.count += len(rows)
        if self.postgres:
            cursor = self.connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            names = ", ".join(("line", *_COLUMNS, "row_hash"))
            with cursor.copy(f"COPY {STAGE} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            self._run(f"INSERT INTO temp.{STAGE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        rows.clear()
        self.keys.flush()

    # --- what needs the whole file ------------------------------------------------------

    def repeated(self) -> list[tuple[int, int, str | None, str, int]]:
        """(line, account id, order id, key, row hash) of every row whose key is also on
        another line, in line order; usually none, found without reading the table."""
        self.flush()
        wanted = self.keys.repeated()
        if not wanted:
            return []
        found = [
            (line, account_id, order_id, key, row_hash)
            for line, account_id, order_id, key, row_hash in self._run(
                f"SELECT line, account_id, order_id, order_key, row_hash FROM {STAGE}"
            )
            if hash((account_id, key)) in wanted
        ]
        seen: dict[tuple[int, str], int] = {}
        for _line, account_id, _order_id, key, _hash in found:
            seen[account_id, key] = seen.get((account_id, key), 0) + 1
        return sorted(row for row in found if seen[row[1], row[3]] > 1)

    def drop_lines(self, lines: list[int]) -> None:
        """Leave these lines out (repeats collapsed into their first line, or refused)."""
        for start in range(0, len(lines), 1_000):
            batch = lines[start : start + 1_000]
            marks = ", ".join(["%s" if self.postgres else "?"] * len(batch))
            self._run(f"DELETE FROM {STAGE} WHERE line IN ({marks})", tuple(batch))
        self.count -= len(lines)

    def rekey(self, keys: list[tuple[int, str]]) -> None:
        """Give these lines new order keys (the second, third… identical order)."""
        if not keys:
            return
        self._run(f"CREATE TEMPORARY TABLE {_FIXES} (line integer, order_key varchar(160))")
        mark = "%s" if self.postgres else "?"
        self._run(f"INSERT INTO {self._temp(_FIXES)} VALUES ({mark}, {mark})", keys)
        self._run(
            f"UPDATE {STAGE} SET order_key = f.order_key "
            f"FROM {_FIXES} f WHERE {STAGE}.line = f.line"
        )
        self._run(f"DROP TABLE {self._temp(_FIXES)}")

    # --- matching and writing -----------------------------------------------------------

    def _stored_orders(self) -> bool:
        return self._run('SELECT 1 FROM "order" LIMIT 1').first() is not None

    def _match(self) -> str:
        return "o.account_id = s.account_id AND o.order_key = s.order_key"

    def _differs(self) -> str:
        distinct = "IS DISTINCT FROM" if self.postgres else "IS NOT"
        return (
            f"(o.ordered_at <> s.ordered_at OR o.amount <> s.amount "
            f"OR o.product {distinct} s.product)"
        )

    def counts(self) -> tuple[int, int, int]:
        """(new, changed, unchanged) against the stored orders."""
        self.flush()
        if not self.count or not self._stored_orders():
            return self.count, 0, 0
        matched, changed = self._run(
            f"SELECT COUNT(*), COUNT(CASE WHEN {self._differs()} THEN 1 END) FROM {STAGE} s "
            f'JOIN "order" o ON {self._match()}'
        ).one()
        return self.count - matched, changed, matched - changed

    def write(self, new: int, changed: int, tick: Tick | None) -> None:
        """Insert the new orders, account by account, and update the changed ones."""
        if new:
            rebuild = worth_rebuilding(self.connection, new)
            with indexes_rebuilt_after(self.connection, rebuild):
                self._insert_new(new == self.count, tick)
        if changed:
            self._run(
                f'UPDATE "order" SET ordered_at = s.ordered_at, amount = s.amount, '
                f"product = s.product FROM {STAGE} s WHERE "
                + self._match().replace("o.", '"order".')
                + " AND "
                + self._differs().replace("o.", '"order".')
            )
            if tick is not None:
                tick(changed)

    def _insert_new(self, all_new: bool, tick: Tick | None) -> None:
        names = ", ".join(_COLUMNS)
        picked = ", ".join(f"s.{name}" for name in _COLUMNS)
        unmatched = ""
        if not all_new:
            unmatched = f' AND NOT EXISTS (SELECT 1 FROM "order" o WHERE {self._match()})'
        first, last = self._run(f"SELECT MIN(line), MAX(line) FROM {STAGE}").one()
        step = MERGE_CHUNK
        if self.postgres and self.count > step:
            self._run(f"CREATE INDEX ON {STAGE} (line)")
        for start in range(first - 1, last, step):
            result = self._run(
                f'INSERT INTO "order" ({names}) SELECT {picked} FROM {STAGE} s '
                f"WHERE s.line > {start} AND s.line <= {start + step}{unmatched} "
                "ORDER BY s.account_id, s.ordered_at"
            )
            if tick is not None and result.rowcount:
                tick(result.rowcount)

    def account_ids(self) -> list[int]:
        """The accounts of the staged orders (at most one per account, not per row)."""
        return [row[0] for row in self._run(f"SELECT DISTINCT account_id FROM {STAGE}")]


class KeyHashes:
    """The 8-byte hash of every staged row's key, kept in a temporary file so memory
    does not grow with the file; `repeated` finds the hashes seen more than once,
    sorting at most `HASHES_AT_ONCE` of them at a time (one slice of the hash range
    per pass over the file)."""

    def __init__(self) -> None:
        self.pending = array("q")  # appended to by the planner's hot loop
        self.append = self.pending.append
        self.count = 0
        self._file = tempfile.TemporaryFile(prefix="rebuy-order-keys-")  # noqa: SIM115

    def __len__(self) -> int:
        return self.count + len(self.pending)

    def flush(self) -> None:
        if self.pending:
            self.count += len(self.pending)
            self._file.seek(0, 2)  # `repeated` may have read from the middle
            self.pending.tofile(self._file)
            del self.pending[:]  # in place: the planner holds `append`

    def repeated(self) -> set[int]:
        self.flush()
        passes = -(-self.count // HASHES_AT_ONCE)
        found: set[int] = set()
        for part in range(passes):
            hashes = np.sort(np.concatenate([np.empty(0, np.int64), *self._slice(part, passes)]))
            twice = np.unique(hashes[1:][hashes[1:] == hashes[:-1]])
            found.update(int(value) for value in twice)
        return found

    def _slice(self, part: int, passes: int) -> Iterator[np.ndarray]:
        """The stored hashes h with h mod `passes` == `part`, a block at a time."""
        self._file.seek(0)
        while block := self._file.read(HASHES_AT_ONCE * 8):
            hashes = np.frombuffer(block, dtype=np.int64)
            yield hashes if passes == 1 else hashes[hashes.view(np.uint64) % passes == part]
