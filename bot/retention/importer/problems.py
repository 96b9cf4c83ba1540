"""The problems an import finds, in memory that does not grow with their number.

A file with one systematically wrong column has a problem on every line: a million
lines, a million problems. `ProblemLog` keeps only what the summary needs in memory
(per kind of problem: the count and the first few line numbers; a bitmap of the bad
lines) and, beyond the first `KEPT_IN_MEMORY` problems, spills every problem to an
anonymous temporary file, read back in line order when the full list is wanted
(`--errors FILE`). It reads like a list of `RowProblem` sorted by line.
"""

from __future__ import annotations

import heapq
import json
import re
import tempfile
from bisect import insort
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import IO, Any, overload

from bot.retention.errors import RowProblem

# A summary line lists this many line numbers of each kind of problem.
LINES_SHOWN = 5
# Problems kept as objects; past this many, all of them go to a temporary file.
KEPT_IN_MEMORY = 1_000
# Spilled problems are written in batches of this many.
_WRITE_BATCH = 4_096
_READ_BLOCK = 1 << 20
# Reasons that differ only in a quoted value, or in the line they refer to, are one kind.
_QUOTED = re.compile(r"“[^”]*”")
_LINE_REF = re.compile(r"\bline [0-9]+")


@dataclass(frozen=True)
class ImportProblem(RowProblem):
    """A bad value with the text that was in the cell (for the --errors file)."""

    value: str | None = None


def problem_kind(column: str | None, reason: str) -> tuple[str | None, str]:
    """What groups problems in the summary: the column and the reason without values."""
    return column, _LINE_REF.sub("line …", _QUOTED.sub("“…”", reason))


class ProblemGroups:
    """Per kind of problem: the reason of its first line, its first line numbers and
    its count; "first" means lowest line (ties: the problem recorded first)."""

    def __init__(self) -> None:
        # kind -> [reason of the first line, first line numbers (sorted), count,
        #          the number of the problem that is the first line's]
        self._groups: dict[tuple[str | None, str], list[Any]] = {}
        self._seen = 0

    def add(self, line: int, column: str | None, reason: str) -> None:
        self._seen += 1
        key = problem_kind(column, reason)
        group = self._groups.get(key)
        if group is None:
            self._groups[key] = [reason, [line], 1, self._seen]
            return
        group[2] += 1
        lines = group[1]
        if line < lines[-1] or len(lines) < LINES_SHOWN:
            if line < lines[0]:
                group[0], group[3] = reason, self._seen
            insort(lines, line)
            del lines[LINES_SHOWN:]

    def ordered(self) -> list[tuple[str | None, str, list[int], int]]:
        """(column, first reason, first line numbers, count), most frequent first (ties:
        the kind whose first problem comes first in line order)."""
        ordered = sorted(
            self._groups.items(), key=lambda item: (-item[1][2], item[1][1][0], item[1][3])
        )
        return [
            (column, reason, list(lines), count)
            for (column, _), (reason, lines, count, _) in ordered
        ]


class ProblemLog(Sequence[RowProblem]):
    """Problems in the order they were found; read back sorted by line (stable)."""

    def __init__(self, problems: Iterable[RowProblem] = ()) -> None:
        self._kept: list[RowProblem] = []
        self._sorted: list[RowProblem] | None = []
        self._count = 0
        self._lines = bytearray()  # bit n set: line n has a problem
        self._bad_rows = 0
        self._last_line = 0
        self._groups = ProblemGroups()
        self._file: IO[bytes] | None = None
        self._pending: list[str] = []
        self._runs: list[int] = []  # file offsets where a run in line order starts
        # Field -> the file's own header where they differ (a mapped or preset file):
        # problems name the column the person sees in their file.
        self.headers: dict[str, str] = {}
        for problem in problems:
            self.append(problem)

    # --- recording ------------------------------------------------------------------

    def append(self, problem: RowProblem) -> None:
        self.add(
            problem.line, problem.column, problem.reason, getattr(problem, "value", None), problem
        )

    def add(
        self,
        line: int,
        column: str | None,
        reason: str,
        value: str | None = None,
        problem: RowProblem | None = None,
    ) -> None:
        """Record one problem (`problem`, when given, is the same as an object)."""
        if column is not None and column in self.headers:
            column, problem = self.headers[column], None
        self._count += 1
        self._groups.add(line, column, reason)
        byte, bit = divmod(line, 8)
        if byte >= len(self._lines):
            self._lines.extend(bytes(max(byte + 1 - len(self._lines), len(self._lines))))
        if not self._lines[byte] & (1 << bit):
            self._lines[byte] |= 1 << bit
            self._bad_rows += 1
        if self._file is None:
            self._kept.append(problem or ImportProblem(line, column, reason, value))
            self._sorted = None
            if len(self._kept) > KEPT_IN_MEMORY:
                self._spill()
            return
        if line < self._last_line:
            self._runs.append(self._write_pending())
        self._last_line = line
        self._pending.append(json.dumps((line, column, reason, value)))
        if len(self._pending) >= _WRITE_BATCH:
            self._write_pending()

    def _spill(self) -> None:
        kept = self._in_order()
        # Lives as long as the log (an error or a result may carry it): no `with`.
        self._file = tempfile.TemporaryFile(prefix="rebuy-import-problems-")  # noqa: SIM115
        self._runs = [0]
        self._last_line = kept[-1].line
        self._pending = [
            json.dumps((p.line, p.column, p.reason, getattr(p, "value", None))) for p in kept
        ]
        self._kept, self._sorted = [], None
        self._write_pending()

    def _write_pending(self) -> int:
        """Write the batch at the end of the file; returns the file's length."""
        assert self._file is not None
        end = self._file.seek(0, 2)  # a reader may have moved the position
        if self._pending:
            end += self._file.write(("\n".join(self._pending) + "\n").encode())
            self._pending.clear()
        return end

    # --- what the summary needs -----------------------------------------------------

    @property
    def bad_rows(self) -> int:
        """How many lines have at least one problem."""
        return self._bad_rows

    def groups(self) -> list[tuple[str | None, str, list[int], int]]:
        return self._groups.ordered()

    # --- reading like a list sorted by line -----------------------------------------

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[RowProblem]:
        if self._file is None:
            return iter(self._in_order())
        ends = [*self._runs[1:], self._write_pending()]
        runs = [self._read(start, end) for start, end in zip(self._runs, ends, strict=True)]
        return heapq.merge(*runs, key=_line) if len(runs) > 1 else runs[0]

    @overload
    def __getitem__(self, index: int) -> RowProblem: ...
    @overload
    def __getitem__(self, index: slice) -> list[RowProblem]: ...
    def __getitem__(self, index: int | slice) -> RowProblem | list[RowProblem]:
        if self._file is None:
            return self._in_order()[index]
        if isinstance(index, slice) or index < 0:
            return list(self)[index]
        if index >= self._count:
            raise IndexError("problem index out of range")
        return next(islice(self, index, None))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, tuple, ProblemLog)):
            return len(self) == len(other) and all(
                mine == theirs for mine, theirs in zip(self, other, strict=True)
            )
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = list(islice(self, 3))
        more = ", …" if self._count > len(shown) else ""
        return f"ProblemLog({self._count} problems: {', '.join(map(str, shown))}{more})"

    def _in_order(self) -> list[RowProblem]:
        if self._sorted is None:
            self._sorted = sorted(self._kept, key=_line)
        return self._sorted

    def _read(self, start: int, end: int) -> Iterator[RowProblem]:
        """The problems spilled between two offsets; other readers may move the file."""
        assert self._file is not None
        handle, offset, rest = self._file, start, b""
        while offset < end:
            handle.seek(offset)
            block = handle.read(min(_READ_BLOCK, end - offset))
            if not block:
                break
            offset += len(block)
            *records, rest = (rest + block).split(b"\n")
            for record in records:
                line, column, reason, value = json.loads(record)
                yield ImportProblem(line, column, reason, value)


def _line(problem: RowProblem) -> int:
    return problem.line
