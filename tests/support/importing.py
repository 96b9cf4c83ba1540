"""Importing CSV files straight through the importer (no CLI): writing a file, running
it, reading its problems."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bot.db import Database
from bot.retention.errors import ImportRowError, RowProblem
from bot.retention.importer import ImportResult, import_csv
from tests.support import factories as f

NOW = f.NOW
TIERS = ("key", "mid", "small")


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(db: Database, kind: str, path: Path, *, now: datetime = NOW, **options) -> ImportResult:
    with db.transaction() as session:
        return import_csv(session=session, kind=kind, path=path, now=now, tiers=TIERS, **options)


def bad_rows(db: Database, kind: str, path: Path, **options) -> list[RowProblem]:
    with pytest.raises(ImportRowError) as caught:
        run(db, kind, path, **options)
    assert caught.value.kind == kind
    assert caught.value.path == str(path)
    return caught.value.problems


def where(problems: list[RowProblem]) -> list[tuple[int, str | None]]:
    return [(problem.line, problem.column) for problem in problems]
