"""Domain errors. Each carries the message a person should read."""

from __future__ import annotations

from dataclasses import dataclass, field


class RebuyError(Exception):
    """Base class: `str(error)` is safe and helpful to show a user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AccountNotFound(RebuyError):
    """Nothing matched. `candidates` are (account id, name) pairs worth suggesting."""

    def __init__(
        self,
        query: str,
        candidates: list[tuple[int, str]] | None = None,
        *,
        empty: bool = False,
    ) -> None:
        self.query = query
        self.candidates = candidates or []
        self.empty = empty
        message = f"No account matches “{query}”."
        if empty:
            message = (
                "There are no accounts yet. An admin loads them with "
                "`rebuy import accounts FILE.csv` (or try `rebuy demo`)."
            )
        elif self.candidates:
            message += " Did you mean: " + ", ".join(self.suggestions) + "?"
        super().__init__(message)

    @property
    def suggestions(self) -> list[str]:
        return [name for _, name in self.candidates]


class AmbiguousAccount(RebuyError):
    def __init__(
        self, query: str, candidates: list[tuple[int, str]], *, total: int | None = None
    ) -> None:
        # (account id, display name) pairs, best match first; `total` counts every match
        # when there are more than the candidates listed.
        self.query = query
        self.candidates = candidates
        self.total = max(total or 0, len(candidates))
        names = ", ".join(name for _, name in candidates[:5])
        more = " and more" if self.total > len(candidates[:5]) else ""
        super().__init__(
            f"“{query}” matches {self.total} accounts: {names}{more}. Which one? "
            "Type more of the name, or the CRM id, to narrow it down."
            if self.total > len(candidates)
            else f"“{query}” matches {self.total} accounts: {names}. Which one?"
        )

    @property
    def suggestions(self) -> list[str]:
        return [name for _, name in self.candidates]


class InvalidInput(RebuyError):
    """A value a person typed (a date, a duration, a touch kind) is not usable."""


class PermissionDenied(RebuyError):
    """The acting user may not do this; the message says why and who can."""


@dataclass(frozen=True)
class RowProblem:
    """One bad value in an import file."""

    line: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column “{self.column}”" if self.column else "")
        return f"{where}: {self.reason}"


@dataclass
class ImportRowError(RebuyError):
    """An import found bad rows and, not told to skip them, changed nothing."""

    kind: str
    path: str
    problems: list[RowProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        count = len(self.problems)
        # An importer's ProblemLog counts its bad rows without reading every problem back.
        rows = getattr(self.problems, "bad_rows", None)
        if rows is None:
            rows = len({p.line for p in self.problems})
        super().__init__(
            f"{self.path}: {rows:,} bad row{'s' if rows != 1 else ''} in the {self.kind} file "
            f"({count:,} problem{'s' if count != 1 else ''}); nothing was imported. "
            f"Fix {'them' if rows != 1 else 'it'}, or re-run with --skip-bad to import "
            "the good rows."
        )


class InvalidForm(InvalidInput):
    """Several fields of a form are wrong; `problems` maps each field to its message."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__(" ".join(problems.values()))
