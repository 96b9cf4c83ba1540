"""What an import did, in words: the summary line, warnings, and problems that scale."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bot.retention.errors import RowProblem
from bot.retention.importer.problems import ProblemGroups, ProblemLog

# A summary lists at most this many kinds of problem; the rest are counted in one line.
GROUPS_SHOWN = 15


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


@dataclass
class Plan:
    """What a planner found; `write` makes it so (never called in a dry run)."""

    created: int
    updated: int
    unchanged: int
    write: Callable[[], None]
    reps_created: int = 0
    reps_changed: int = 0  # accounts only: owners whose holiday country the file sets
    # Rows left out on purpose (a lost deal, an activity not done), by reason.
    left_out: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    # Orders only: the latest order date among the good rows (the file's through-date).
    latest_day: date | None = None


@dataclass
class ImportResult:
    """What an import did (or, in a dry run, would do)."""

    kind: str
    path: str
    rows: int  # data rows read, bad ones included
    created: int
    updated: int
    unchanged: int
    skipped: Sequence[RowProblem] = field(default_factory=list)  # a ProblemLog, sorted
    dry_run: bool = False
    reps_created: int = 0  # accounts only: owners seen for the first time
    duplicates: int = 0  # identical repeats of a row, collapsed into one
    left_out: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    detected: str = ""  # "read as UTF-16 (detected), tab-separated (detected); …"
    mapping: list[tuple[str, str]] = field(default_factory=list)  # (field, header)
    preset: str | None = None
    # Orders only: the date the orders are complete through, recorded with the import.
    through: date | None = None

    @property
    def bad_rows(self) -> int:
        """How many rows were skipped (a row can have several problems)."""
        if isinstance(self.skipped, ProblemLog):
            return self.skipped.bad_rows
        return len({problem.line for problem in self.skipped})

    def summary(self) -> str:
        """One line for a person, e.g. "orders.csv: 1,204 rows — 1,180 new, 20 updated, …"."""
        parts = [
            f"{self.created:,} new",
            f"{self.updated:,} updated",
            f"{self.unchanged:,} unchanged",
        ]
        if self.duplicates:
            parts.append(f"{plural(self.duplicates, 'duplicate row')} collapsed")
        if self.left_out:
            parts.append(f"{self.left_out.total():,} left out")
        if self.skipped:
            parts.append(f"{plural(self.bad_rows, 'bad row')} skipped")
        text = f"{Path(self.path).name}: {plural(self.rows, 'row')} — " + ", ".join(parts)
        if self.reps_created:
            text += f"; {plural(self.reps_created, 'new rep')}"
        if self.dry_run:
            text += " (dry run: nothing written)"
        return text

    def details(self, *, verbose: bool = False) -> list[str]:
        """The lines under the summary: how the file was read (when it was not plain
        UTF-8 with commas and Rebuy's own headers, or `verbose`), the column mapping,
        what was left out, and warnings."""
        lines = []
        plain = self.detected.startswith("read as UTF-8 (detected), comma-separated (detected)")
        if self.detected and (verbose or not plain or ";" in self.detected):
            lines.append(self.detected[0].upper() + self.detected[1:] + ".")
        own = all(name == header for name, header in self.mapping)
        if self.mapping and (verbose or self.preset or not own):
            source = f" ({self.preset} preset)" if self.preset else ""
            pairs = ", ".join(f"{name} ← “{header}”" for name, header in self.mapping)
            lines.append(f"Columns{source}: {pairs}.")
        for reason, count in self.left_out.most_common(5):
            lines.append(f"Left out {plural(count, 'row')}: {reason}.")
        if len(self.left_out) > 5:
            rest = sum(count for _, count in self.left_out.most_common()[5:])
            lines.append(f"Left out {plural(rest, 'more row')} for other reasons.")
        lines.extend(self.warnings)
        return lines


def group_problems(problems: Iterable[RowProblem]) -> list[tuple[str | None, str, list[int], int]]:
    """(column, first reason, first line numbers, count) per (column, kind of reason),
    most frequent first. Reasons that differ only in the quoted value are one kind."""
    if isinstance(problems, ProblemLog):
        return problems.groups()
    groups = ProblemGroups()
    for problem in sorted(problems, key=lambda p: p.line):
        groups.add(problem.line, problem.column, problem.reason)
    return groups.ordered()


def problem_lines(problems: Sequence[RowProblem], errors_file: str | None = None) -> list[str]:
    """At most ~20 lines describing every problem: one per (column, kind of reason)."""
    groups = group_problems(problems)
    lines = []
    for column, reason, numbers, count in groups[:GROUPS_SHOWN]:
        if count == 1:
            lines.append(f"  {RowProblem(numbers[0], column, reason)}")
            continue
        where = f"column “{column}”" if column else "whole row"
        at = ", ".join(str(n) for n in numbers) + (", …" if count > len(numbers) else "")
        lines.append(f"  {where}: {count:,} rows (lines {at}): {reason}")
    if len(groups) > GROUPS_SHOWN:
        rest = sum(count for *_, count in groups[GROUPS_SHOWN:])
        lines.append(
            f"  …and {plural(rest, 'more problem')} of {len(groups) - GROUPS_SHOWN:,} other kinds."
        )
    if errors_file:
        lines.append(f"Every problem, one per line, is in {errors_file}.")
    elif len(problems) > len(groups[:GROUPS_SHOWN]):
        lines.append("Pass --errors FILE to get every problem in a CSV file.")
    return lines


def write_errors(path: Path, problems: Iterable[RowProblem]) -> int:
    """Every problem as CSV (line, column, value, reason), in line order (a `ProblemLog`
    is read back from its temporary file as it is written); returns how many."""
    written = 0
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["line", "column", "value", "reason"])
        for problem in problems:
            value = getattr(problem, "value", None)
            writer.writerow([problem.line, problem.column or "", value or "", problem.reason])
            written += 1
    return written
