"""`rebuy import` as an admin runs it: exit codes, what goes to stdout and stderr."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select

from bot import cli
from bot.db import Database
from models import Account, Order
from tests import factories as f
from tests.test_cli import NOW, run

ORDERS_HEADER = "account_external_id,ordered_at,amount,order_id,product\n"


@pytest.fixture
def workspace(db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """Two accounts, A1 and B2, and the CLI pointed at them with a fixed "now"."""
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("REBUY_NOW", NOW)
    with db.transaction() as session:
        f.account(session, "Acme", external_id="A1")
        f.account(session, "Beta Supply", external_id="B2")
    return db


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def count(db: Database, model: Any) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def listed(err: str) -> list[str]:
    """The problem lines of the CLI's stderr."""
    return [line.strip() for line in err.splitlines() if line.startswith("  line ")]


def test_bad_rows_are_all_listed_and_nothing_is_written(workspace, capsys, tmp_path) -> None:
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER
        + "A1,2026-01-05,100,SO-1,\n"  # 2: good
        + "ZZ,2026-01-05,100,SO-2,\n"  # 3
        + "A1,2026-01-05,abc,SO-3,\n"  # 4
        + "A1,2027-01-05,,SO-4,\n",  # 5: in the future and no amount
    )

    code, out, err = run(capsys, "import", "orders", str(path))

    assert code == 1
    assert out == ""
    assert f"{path}: 3 bad rows in the orders file (4 problems); nothing was imported." in err
    assert listed(err) == [
        "line 3, column “account_external_id”: no account with external_id “ZZ”",
        "line 4, column “amount”: “abc” is not a number; use a plain number like 1234.50",
        "line 5, column “ordered_at”: “2027-01-05” is in the future (after 2026-06-16); "
        "orders are purchases that happened",
        "line 5, column “amount”: is empty",
    ]
    assert "Traceback" not in err
    assert count(workspace, Order) == 0


def test_every_problem_is_listed_however_many(workspace, capsys, tmp_path) -> None:
    rows = "".join(f"A1,2026-01-05,x{n},SO-{n},\n" for n in range(450))
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + "A1,2026-01-05,1,SO-OK,\n" + rows)

    code, _, err = run(capsys, "import", "orders", str(path))

    assert code == 1
    assert "450 bad rows in the orders file (450 problems)" in err
    problems = listed(err)
    assert len(problems) == 450
    assert problems[0].startswith("line 3, column “amount”: “x0”")
    assert problems[-1].startswith("line 452, column “amount”: “x449”")
    assert "more problems" not in err

    code, out, err = run(capsys, "import", "orders", str(path), "--skip-bad")

    assert code == 0, err
    assert "1 new" in out and "450 bad rows skipped" in out
    assert "Skipped 450 bad rows:" in err
    assert len(listed(err)) == 450
    assert count(workspace, Order) == 1


def test_dry_run_writes_nothing_and_says_so(workspace, capsys, tmp_path) -> None:
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + "A1,2026-01-05,100,SO-1,\n")

    code, out, err = run(capsys, "import", "orders", str(path), "--dry-run")

    assert code == 0, err
    assert out.strip() == (
        "orders.csv: 1 row — 1 new, 0 updated, 0 unchanged (dry run: nothing written)"
    )
    assert count(workspace, Order) == 0


def test_skip_bad_imports_the_good_rows_and_lists_the_bad(workspace, capsys, tmp_path) -> None:
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER
        + "A1,2026-01-05,100,SO-1,\n"
        + "NOPE,2026-01-05,100,SO-2,\n"
        + "B2,2026-01-06,-25.00,SO-3,Refund\n",
    )

    code, out, err = run(capsys, "import", "orders", str(path), "--skip-bad")

    assert code == 0, err
    assert out.strip() == "orders.csv: 3 rows — 2 new, 0 updated, 0 unchanged, 1 bad row skipped"
    assert "Skipped 1 bad row:" in err
    assert listed(err) == [
        "line 3, column “account_external_id”: no account with external_id “NOPE”"
    ]
    assert count(workspace, Order) == 2


def test_skip_bad_fails_when_every_row_is_bad(workspace, capsys, tmp_path) -> None:
    path = write(
        tmp_path, "orders.csv", ORDERS_HEADER + "NOPE,2026-01-05,100,,\nA1,2026-01-05,x,,\n"
    )

    code, out, err = run(capsys, "import", "orders", str(path), "--skip-bad")

    assert code == 1
    assert "0 new" in out and "2 bad rows skipped" in out
    assert len(listed(err)) == 2
    assert f"{path}: every row is bad; nothing was imported." in err
    assert count(workspace, Order) == 0


def test_a_file_with_no_rows_is_not_a_failure(workspace, capsys, tmp_path) -> None:
    path = write(tmp_path, "orders.csv", ORDERS_HEADER)

    code, out, err = run(capsys, "import", "orders", str(path), "--skip-bad")

    assert code == 0, err
    assert "0 rows — 0 new" in out


def test_unknown_kind_and_missing_file_are_explained(workspace, capsys, tmp_path) -> None:
    path = write(tmp_path, "orders.csv", ORDERS_HEADER)

    code, out, err = run(capsys, "import", "touches", str(path))

    assert code == 1
    assert "Unknown import kind “touches”" in err and "accounts, orders, contacts" in err
    assert "Traceback" not in out + err

    code, out, err = run(capsys, "import", "orders", str(tmp_path / "missing.csv"))

    assert code == 1
    assert f"{tmp_path / 'missing.csv'}: no such file." in err
    assert "Traceback" not in out + err

    code, out, err = run(capsys, "import", "orders", str(tmp_path))

    assert code == 1
    assert "is a folder, not a CSV file" in err


def test_a_missing_column_is_explained(workspace, capsys, tmp_path) -> None:
    path = write(tmp_path, "orders.csv", "Account External ID,Date,Amount\nA1,2026-01-05,1\n")

    code, out, err = run(capsys, "import", "orders", str(path))

    assert code == 1
    assert "the orders file has no “ordered_at” column" in err
    assert "Traceback" not in out + err


def test_brackets_in_names_and_cells_print_literally(workspace, capsys, tmp_path) -> None:
    """Rich would read "[/x]" as markup; a file name or a cell must print as it is."""
    # "/" separates folders, so the "[/x]" of the path spans two of them.
    folder = tmp_path / "exports [" / "x] [bold]"
    folder.mkdir(parents=True)
    path = write(folder, "orders [red].csv", ORDERS_HEADER + "A1,2026-01-05,[/bold],SO-1,\n")
    assert "[/x]" in str(path)

    code, out, err = run(capsys, "import", "orders", str(path))

    assert code == 1
    assert f"{path}: 1 bad row in the orders file (1 problem)" in err
    assert listed(err) == [
        "line 2, column “amount”: “[/bold]” is not a number; use a plain number like 1234.50"
    ]
    assert "Traceback" not in out + err and "Something went wrong" not in err

    # Markup would swallow "[red]" silently rather than fail.
    good = write(folder, "[red]orders[i].csv", ORDERS_HEADER + "A1,2026-01-05,1,SO-1,[/b]\n")
    code, out, err = run(capsys, "import", "orders", str(good))

    assert code == 0, err
    assert out.startswith("[red]orders[i].csv: 1 row — 1 new")

    code, out, err = run(capsys, "import", "orders", str(folder / "gone.csv"), "--skip-bad")

    assert code == 1
    assert f"{folder / 'gone.csv'}: no such file." in err
    assert "Something went wrong" not in err


def test_reimporting_reports_unchanged(workspace, capsys, tmp_path) -> None:
    path = write(
        tmp_path,
        "accounts.csv",
        "External ID,Name,Owner E-mail,Tier\nA1,Acme,rep@seller.example,key\nC3,Gamma,,\n",
    )

    code, out, err = run(capsys, "import", "accounts", str(path))

    assert code == 0, err
    assert out.strip() == "accounts.csv: 2 rows — 1 new, 1 updated, 0 unchanged; 1 new rep"

    code, out, err = run(capsys, "import", "accounts", str(path))

    assert code == 0, err
    assert out.strip() == "accounts.csv: 2 rows — 0 new, 0 updated, 2 unchanged"
    assert err == ""
    assert count(workspace, Account) == 3


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ("", 0),
        ("h\n", 0),
        ("h", 0),
        ("h\na\nb\n", 2),
        ("h\na\nb", 2),
        ("h\r\na\r\nb\r\n", 2),
        ("h\r\na\r\nb", 2),
    ],
)
def test_the_progress_total_counts_data_rows(tmp_path: Path, text: str, rows: int) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(text.encode())
    assert cli._count_lines(path) == rows


class _RecordingProgress(cli.Progress):
    """The CLI's progress bar, recording its totals (it is hidden when not on a terminal)."""

    totals: list[float | None]

    def add_task(self, *args: Any, total: float | None = 100.0, **kwargs: Any) -> Any:
        type(self).totals.append(total)
        return super().add_task(*args, total=total, **kwargs)


@pytest.mark.parametrize("newline_at_end", [True, False])
def test_the_progress_bar_ends_full(
    workspace, capsys, tmp_path, monkeypatch: pytest.MonkeyPatch, newline_at_end: bool
) -> None:
    text = ORDERS_HEADER + "".join(f"A1,2026-01-05,{n},SO-{n},\n" for n in range(5))
    path = write(tmp_path, "orders.csv", text if newline_at_end else text.rstrip("\n"))
    monkeypatch.setattr(_RecordingProgress, "totals", [], raising=False)
    bars: list[_RecordingProgress] = []

    def progress(*args: Any, **kwargs: Any) -> _RecordingProgress:
        bars.append(_RecordingProgress(*args, **kwargs))
        return bars[-1]

    monkeypatch.setattr(cli, "Progress", progress)

    code, _, err = run(capsys, "import", "orders", str(path))

    assert code == 0, err
    assert _RecordingProgress.totals == [5]  # the header is not a row
    (task,) = bars[0].tasks
    assert (task.completed, task.total) == (5, 5)
