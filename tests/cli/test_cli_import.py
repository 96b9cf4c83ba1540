"""`rebuy import` as an admin runs it: exit codes, what goes to stdout and stderr."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rich.progress import Progress
from sqlmodel import func, select

from bot.cli import importing
from bot.db import Database
from bot.retention import importer as cli_importer
from models import Account, Order
from tests.support.cli import ORDERS_HEADER, run, write
from tests.support.paths import EXPORTS


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
        "line 4, column “amount”: “abc” is not an amount; use a number like 1234.50 or $1,234.50",
        "line 5, column “ordered_at”: “2027-01-05” is in the future (after 16 Jun 2026); "
        "orders are purchases that happened",
        "line 5, column “amount”: is empty",
    ]
    assert "Traceback" not in err
    assert count(workspace, Order) == 0


def test_many_problems_are_summarised_by_kind(workspace, capsys, tmp_path) -> None:
    rows = "".join(f"A1,2026-01-05,x{n},SO-{n},\n" for n in range(450))
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + "A1,2026-01-05,1,SO-OK,\n" + rows)

    code, _, err = run(capsys, "import", "orders", str(path))

    assert code == 1
    assert "450 bad rows in the orders file (450 problems)" in err
    assert "column “amount”: 450 rows (lines 3, 4, 5, 6, 7, …): “x0” is not an amount" in err
    assert "Pass --errors FILE to get every problem in a CSV file." in err
    assert len(err.strip().splitlines()) <= 20

    code, out, err = run(capsys, "import", "orders", str(path), "--skip-bad")

    assert code == 0, err
    assert "1 new" in out and "450 bad rows skipped" in out
    assert "Skipped 450 bad rows:" in err and "column “amount”: 450 rows" in err
    assert count(workspace, Order) == 1


def test_dry_run_writes_nothing_and_says_so(workspace, capsys, tmp_path) -> None:
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + "A1,2026-01-05,100,SO-1,\n")

    code, out, err = run(capsys, "import", "orders", str(path), "--dry-run")

    assert code == 0, err
    assert out.splitlines()[0] == (
        "orders.csv: 1 row — 1 new, 0 updated, 0 unchanged (dry run: nothing written)"
    )
    assert "Columns: account_external_id ← “account_external_id”" in out  # the mapping used
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
    summary, fitted = out.strip().splitlines()
    assert summary == "orders.csv: 3 rows — 2 new, 0 updated, 0 unchanged, 1 bad row skipped"
    assert fitted.startswith("Re-buy model fitted to 6 Jan 2026")  # one line about the fit
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


def test_a_file_with_a_header_and_no_rows_is_a_failure(workspace, capsys, tmp_path) -> None:
    path = write(tmp_path, "orders.csv", ORDERS_HEADER)

    code, _out, err = run(capsys, "import", "orders", str(path), "--skip-bad")

    assert code == 1
    assert "has a header but no data rows, so there is nothing to import" in err


def test_unknown_kind_and_missing_file_are_explained(workspace, capsys, tmp_path) -> None:
    path = write(tmp_path, "orders.csv", ORDERS_HEADER)

    code, out, err = run(capsys, "import", "widgets", str(path))

    assert code == 1
    assert "Unknown import kind “widgets”" in err and "accounts, orders, contacts, touches" in err
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
        "line 2, column “amount”: “[/bold]” is not an amount; "
        "use a number like 1234.50 or $1,234.50"
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
    assert out.splitlines()[0] == "accounts.csv: 2 rows — 1 new, 1 updated, 0 unchanged; 1 new rep"
    assert "1 account without an owner" in out and "Gamma (C3)" in out

    code, out, err = run(capsys, "import", "accounts", str(path))

    assert code == 0, err
    assert out.splitlines()[0] == "accounts.csv: 2 rows — 0 new, 0 updated, 2 unchanged"
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
    assert importing.count_lines(path) == rows


class _RecordingProgress(Progress):
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

    monkeypatch.setattr(importing, "progress_bar", progress)

    code, _, err = run(capsys, "import", "orders", str(path))

    assert code == 0, err
    assert _RecordingProgress.totals == [5]  # the header is not a row
    (task,) = bars[0].tasks
    assert (task.completed, task.total) == (5, 5)
    # Past the last row written, the bar says what it is still doing.
    assert task.description == "Finishing orders: summary, saving"


# --- CRM exports as they are -------------------------------------------------------------


def test_a_salesforce_opportunities_report_imports_won_deals_as_orders(workspace, capsys) -> None:
    path = EXPORTS / "salesforce_opportunities.csv"

    code, out, err = run(capsys, "import", "orders", str(path), "--dry-run")

    assert code == 0, err
    assert "2 new" in out and "2 left out" in out
    assert "Salesforce Opportunities preset" in out
    assert "order_id ← “Opportunity ID”" in out and "ordered_at ← “Close Date”" in out
    assert "“Prospecting” is not won" in out and "“Closed Lost” is not won" in out
    assert "dates as MM/DD/YYYY" in out
    code, out, err = run(capsys, "import", "orders", str(path))
    assert code == 0, err
    with workspace.session() as session:
        stored = {o.order_id: o for o in session.exec(select(Order))}
    assert set(stored) == {"0065g00000AbCdE", "0065g00000AbCdG"}
    assert str(stored["0065g00000AbCdE"].amount) == "1234.50"
    assert stored["0065g00000AbCdE"].ordered_at.date().isoformat() == "2026-03-15"


def test_an_excel_semicolon_cp1252_pipedrive_file_imports_as_it_is(workspace, capsys) -> None:
    path = EXPORTS / "pipedrive_deals_excel_de.csv"

    code, out, err = run(capsys, "import", "orders", str(path), "--locale", "de")

    assert code == 0, err
    assert "Windows-1252 (detected), semicolon-separated (detected)" in out
    assert "Pipedrive Deals preset" in out and "“lost” is not won" in out
    with workspace.session() as session:
        (order,) = session.exec(select(Order)).all()
    assert (order.order_id, str(order.amount)) == ("101", "1234.50")
    assert order.ordered_at.isoformat().startswith("2026-01-15T10:30")


def test_with_locale_de_a_point_groups_thousands_even_without_a_comma(
    workspace, capsys, tmp_path
) -> None:
    # "1.234" and "12.000" carry no decimal comma: with --locale de they are still
    # thousands (the hint without a locale says to pass --locale de), never 1.234 or 12.
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER
        + 'A1,2026-01-05,"1.234,50",SO-1,\n'
        + "A1,2026-01-06,1.234,SO-2,\n"
        + "B2,2026-01-07,12.000,SO-3,\n"
        + 'B2,2026-01-08,"99,5",SO-4,\n',
    )

    code, _out, err = run(capsys, "import", "orders", str(path))
    assert code == 1
    assert "pass --locale de" in err
    code, _out, err = run(capsys, "import", "orders", str(path), "--locale", "de")

    assert code == 0, err
    with workspace.session() as session:
        stored = {o.order_id: str(o.amount) for o in session.exec(select(Order))}
    assert stored == {"SO-1": "1234.50", "SO-2": "1234.00", "SO-3": "12000.00", "SO-4": "99.50"}


def test_with_locale_de_a_point_is_never_a_decimal_point(workspace, capsys, tmp_path) -> None:
    # An English export given --locale de (the ambiguity refusal suggests it): "2.500" would
    # read as 2500 beside "1415.900" read as 1415.9, errors of 1,000 times in one file.
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER
        + "A1,2026-01-05,2.500,SO-1,\n"
        + "A1,2026-01-06,1415.900,SO-2,\n"
        + "B2,2026-01-07,99.5,SO-3,\n",
    )

    code, out, err = run(capsys, "import", "orders", str(path), "--locale", "de")

    assert code == 1
    said = " ".join((out + err).split())
    assert "2 bad rows" in said
    assert (
        "column “amount”: 2 rows (lines 3, 4): “1415.900” is not an amount as --locale de "
        "writes them (e.g. 1.234,50)" in said
    )
    with workspace.session() as session:
        assert session.exec(select(Order)).all() == []


@pytest.mark.parametrize("locale", ["fr", "sv", "pl"])
def test_with_a_space_grouped_decimal_comma_a_point_is_no_decimal_point_either(
    workspace, capsys, tmp_path, locale
) -> None:
    # French, Swedish or Polish group thousands with a (no-break) space, not a point:
    # Babel then takes a point as the decimal point, and "1415.900" or "99.5" were read
    # as 1415.9 and 99.5 where --locale says a comma is the decimal mark.
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER
        + 'A1,2026-01-05,"1\u00a0234,50",SO-1,\n'
        + "A1,2026-01-06,1415.900,SO-2,\n"
        + "B2,2026-01-07,99.5,SO-3,\n",
    )

    code, out, err = run(capsys, "import", "orders", str(path), "--locale", locale)

    assert code == 1
    said = " ".join((out + err).split())
    assert "2 bad rows" in said
    assert f"“1415.900” is not an amount as --locale {locale} writes them" in said
    with workspace.session() as session:
        assert session.exec(select(Order)).all() == []


def test_owners_written_as_unknown_names_are_warned_with_a_way_out(
    workspace, capsys, tmp_path
) -> None:
    path = write(tmp_path, "a.csv", "external_id,name,owner_email\nN1,Nu,Jane Doe\n")

    code, out, err = run(capsys, "import", "accounts", str(path))

    assert code == 0, err
    assert "no rep has this name: “Jane Doe”" in out
    assert "run `rebuy reps sync` (reps get their Slack names) and import again" in out
    assert "1 account without an owner" in out and "Nu (N1)" in out


def test_problems_in_a_mapped_file_name_the_files_own_columns(workspace, capsys, tmp_path) -> None:
    # The person fixes their file, which has no “account_external_id” or “ordered_at”.
    path = write(
        tmp_path,
        "deals.csv",
        '"Account ID","Close Date","Amount"\n"A1","someday","5"\n"NOPE","2026-01-05","5"\n',
    )
    errors = tmp_path / "errors.csv"

    code, _out, err = run(
        capsys,
        "import",
        "orders",
        str(path),
        "--map",
        'account_external_id="Account ID",ordered_at="Close Date",amount="Amount"',
        "--errors",
        str(errors),
    )

    assert code == 1
    assert "line 2, column “Close Date”: “someday” is not a date" in err
    assert "line 3, column “Account ID”: no account with external_id “NOPE”" in err
    assert errors.read_text(encoding="utf-8").splitlines()[1].startswith("2,Close Date,someday,")


def test_a_file_mixing_day_first_and_month_first_dates_names_both(
    workspace, capsys, tmp_path
) -> None:
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER + "A1,03/04/2026,5,SO-1,\nA1,04/25/2026,5,SO-2,\nB2,25/04/2026,5,SO-3,\n",
    )

    code, _out, err = run(capsys, "import", "orders", str(path))

    assert code == 1
    assert f"{path}: the file mixes day-first and month-first dates" in err
    assert "“25/04/2026” can only be day first, “04/25/2026” only month first" in err
    assert count(workspace, Order) == 0


def test_touch_warnings_read_as_sentences(workspace, capsys, tmp_path) -> None:
    path = write(
        tmp_path,
        "touches.csv",
        "account_external_id,touched_at,kind,rep_email\n"
        "A1,2026-01-05,call,nobody@example.com\n"
        "A1,2026-01-06,carrier pigeon,\n"
        "B2,2026-01-07,fax,\n",
    )

    code, out, err = run(capsys, "import", "touches", str(path))

    assert code == 0, err
    assert (
        "1 touch names a rep Rebuy does not know (“nobody@example.com”); "
        "it is imported without a rep." in " ".join(out.split())
    )
    assert "2 touches of other types (“carrier pigeon”, “fax”) imported as notes." in " ".join(
        out.split()
    )


def test_a_hubspot_calls_export_in_utf16_imports_as_touches(workspace, capsys) -> None:
    from models import Touch

    path = EXPORTS / "hubspot_calls_unicode.txt"

    code, out, err = run(capsys, "import", "touches", str(path))
    assert code == 0, err
    assert "UTF-16 (detected), tab-separated (detected)" in out and "HubSpot Calls" in out
    code, out, err = run(capsys, "import", "touch", str(path))  # again: nothing doubles
    assert code == 0, err
    assert "2 unchanged" in out
    with workspace.session() as session:
        touches = session.exec(select(Touch).order_by(Touch.touched_at)).all()
    assert [(t.kind, t.source) for t in touches] == [("call", "import"), ("call", "import")]
    assert touches[0].note == "Check-in — Asked about Q2 volumes"


def test_map_names_the_columns_and_singular_kinds_work(workspace, capsys, tmp_path) -> None:
    path = write(
        tmp_path,
        "crm.csv",
        '"Account ID","Account Name","Account Owner Email","Close Date","Amount"\n'
        '"Z9","Zeta","zed@seller.example","Mar 15, 2026","€ 1.234,50"\n',
    )

    code, out, err = run(
        capsys,
        "import",
        "account",
        str(path),
        "--map",
        'external_id="Account ID",name="Account Name",owner_email="Account Owner Email"',
    )

    assert code == 0, err
    assert "1 new" in out and "external_id ← “Account ID”" in out
    mapping = tmp_path / "orders-mapping.yaml"
    mapping.write_text(
        "columns:\n  account_external_id: Account ID\n  ordered_at: Close Date\n  amount: Amount\n"
    )
    code, out, err = run(capsys, "import", "order", str(path), "--mapping", str(mapping))
    assert code == 0, err
    with workspace.session() as session:
        (order,) = session.exec(select(Order)).all()
    assert str(order.amount) == "1234.50" and order.ordered_at.day == 15


def test_a_million_errors_print_at_most_twenty_lines(workspace, capsys, tmp_path) -> None:
    rows = 50_000
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER + "".join(f"A1,2026-01-05,n/a,SO-{n},\n" for n in range(rows)),
    )
    errors = tmp_path / "errors.csv"

    code, _out, err = run(capsys, "import", "orders", str(path), "--errors", str(errors))

    assert code == 1
    assert len(err.strip().splitlines()) <= 20
    assert f"column “amount”: {rows:,} rows (lines 2, 3, 4, 5, 6, …)" in err
    lines = errors.read_text(encoding="utf-8").splitlines()
    assert len(lines) == rows + 1 and lines[0] == "line,column,value,reason"
    assert lines[1].startswith("2,amount,n/a,")
    assert count(workspace, Order) == 0


def test_identical_rows_collapse_and_conflicting_ones_are_refused(
    workspace, capsys, tmp_path
) -> None:
    same = write(tmp_path, "a.csv", "external_id,name\nC1,Gamma\nC1,Gamma\n")
    code, out, err = run(capsys, "import", "accounts", str(same))
    assert code == 0, err
    assert "1 duplicate row collapsed" in out
    clash = write(tmp_path, "b.csv", "external_id,name\nD1,Delta\nD1,Delta Two\n")
    code, out, err = run(capsys, "import", "accounts", str(clash))
    assert code == 1
    assert "line 3, column “external_id”: “D1” is also on line 2 with different values" in err


def test_ctrl_c_changes_nothing_and_says_so(
    workspace, capsys, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.retention.importer import orders as planner

    path = write(tmp_path, "orders.csv", ORDERS_HEADER + "A1,2026-01-05,100,SO-1,\n")
    real = planner.plan_orders

    def interrupted(*args: Any, **kwargs: Any):
        plan = real(*args, **kwargs)

        def write_then_stop() -> None:
            plan_write()
            raise KeyboardInterrupt

        plan_write = plan.write
        plan.write = write_then_stop
        return plan

    monkeypatch.setitem(cli_importer._PLANNERS, "orders", interrupted)

    code, _out, err = run(capsys, "import", "orders", str(path))

    assert code == 130
    assert err.strip() == "Interrupted: nothing was imported."
    assert count(workspace, Order) == 0


def test_ambiguous_dates_are_refused_with_both_readings(workspace, capsys, tmp_path) -> None:
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + "A1,03/04/2026,100,SO-1,\n")

    code, _, err = run(capsys, "import", "orders", str(path))

    assert code == 1
    assert "4 March 2026 (month first) or 3 April 2026 (day first)" in err
    assert "--date-format" in err
    code, _out, err = run(capsys, "import", "orders", str(path), "--date-format", "DD/MM/YYYY")
    assert code == 0, err
    with workspace.session() as session:
        (order,) = session.exec(select(Order)).all()
    assert order.ordered_at.month == 4


def test_an_orders_import_leaves_todays_cut_points_ready(workspace, capsys, tmp_path) -> None:
    """The import clears the day's RFM cut points (its orders move every quintile) and
    computes them again before it exits, so the next card does not pay for them inside
    Slack's wait; they are those the card would compute."""
    import os
    from datetime import datetime

    from bot.retention.rfm import cached_cutoffs, compute_workspace_cutoffs

    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER + "A1,2026-05-02,120.00,SO-1,Widgets\nB2,2026-06-01,80.00,SO-2,Bolts\n",
    )
    code, _, err = run(capsys, "import", "orders", str(path))
    assert code == 0, err
    today = datetime.fromisoformat(os.environ["REBUY_NOW"].replace("Z", "+00:00")).date()
    with workspace.session() as session:
        ready = cached_cutoffs(session=session, as_of=today)
        assert ready is not None
        assert ready == compute_workspace_cutoffs(session=session, as_of=today)
        assert ready.population == 2


@pytest.mark.parametrize(
    ("date_format", "value"),
    [
        ("DD/MM/YYYY HH:MM", "15/03/2026 14:30"),
        ("dd/mm/yyyy hh:mm", "15/03/2026 14:30"),
        ("DD/MM/YYYY HH:MM:SS", "15/03/2026 14:30:05"),
        ("D/M/YYYY", "15/3/2026"),
        ("DD-MMM-YYYY", "15-Mar-2026"),
        ("%Y-%m-%dT%H:%M:%S%z", "2026-03-15T14:30:00+0000"),
        ("%d.%m.%Y %H:%M %Z", "15.03.2026 14:30 UTC"),
    ],
)
def test_a_date_format_with_a_time_or_single_letters_reads_as_written(
    workspace, capsys, tmp_path, date_format: str, value: str
) -> None:
    # MM after HH: is the minutes, not a second month (strptime refused the pattern).
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + f"A1,{value},100,SO-1,\n")

    code, _out, err = run(capsys, "import", "orders", str(path), "--date-format", date_format)

    assert code == 0, err
    with workspace.session() as session:
        (order,) = session.exec(select(Order)).all()
    assert (order.ordered_at.month, order.ordered_at.day) == (3, 15)
    if ":" in value:
        assert (order.ordered_at.hour, order.ordered_at.minute) == (14, 30)


@pytest.mark.parametrize("date_format", ["%d/%m/%Y %H:%m", "%Q/%m/%Y"])
def test_a_date_format_strptime_cannot_use_is_refused_naming_the_flag(
    workspace, capsys, tmp_path, date_format: str
) -> None:
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + "A1,15/03/2026,100,SO-1,\n")

    code, out, err = run(capsys, "import", "orders", str(path), "--date-format", date_format)

    assert code == 1
    assert out == ""
    assert f"--date-format: “{date_format}” is not a date format" in err
    assert "Something went wrong" not in err
    assert count(workspace, Order) == 0


@pytest.mark.parametrize(
    ("date_format", "value"), [("YYYY:MM:DD", "2026:03:15"), ("DD/MM", "15/03")]
)
def test_a_date_format_without_a_year_month_and_day_is_refused(
    workspace, capsys, tmp_path, date_format: str, value: str
) -> None:
    # MM after a colon is the minutes: "YYYY:MM:DD" read 2026:03:15 as 15 Jan 2026 00:03.
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + f"A1,{value},100,SO-1,\n")

    code, out, err = run(capsys, "import", "orders", str(path), "--date-format", date_format)

    assert code == 1
    assert out == ""
    assert f"--date-format: “{date_format}” does not read a year, a month and a day" in err
    assert count(workspace, Order) == 0


def test_a_point_before_three_zeros_is_not_read_as_decimals_without_a_locale(
    workspace, capsys, tmp_path
) -> None:
    # A German export of round amounts ("12.000", "2.500 €") has no value that
    # proves the point groups thousands; read as decimals they were 1,000 times too small.
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER + "A1,2026-01-05,12.000,SO-1,\n" + 'A1,2026-01-06,"2.500 €",SO-2,\n',
    )

    code, out, err = run(capsys, "import", "orders", str(path))

    assert code == 1
    assert out == ""
    assert (
        "column “amount”: 2 rows (lines 2, 3): “12.000” is ambiguous: the point may separate "
        "thousands (pass --locale de) or be a decimal point (pass --locale en)"
    ) in err
    assert count(workspace, Order) == 0
    for locale, expected in (("de", ("12000.00", "2500.00")), ("en", ("12.00", "2.50"))):
        code, _out, err = run(capsys, "import", "orders", str(path), "--locale", locale)
        assert code == 0, err
        with workspace.session() as session:
            stored = {o.order_id: str(o.amount) for o in session.exec(select(Order))}
        assert (stored["SO-1"], stored["SO-2"]) == expected


@pytest.mark.parametrize(
    ("name", "start"),
    [("accounts.xlsx", b"PK\x03\x04"), ("accounts.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")],
)
def test_an_excel_workbook_is_named_as_one_with_how_to_save_it_as_csv(
    workspace, capsys, tmp_path, name: str, start: bytes
) -> None:
    # Not "is not Windows-1252 text; pass --encoding cp1252" (the encoding it had guessed).
    path = tmp_path / name
    path.write_bytes(start + bytes(range(256)) * 64)
    before = count(workspace, Account)

    code, out, err = run(capsys, "import", "accounts", str(path))

    assert code == 1
    assert out == ""
    if name.endswith(".xls"):
        assert err.strip() == (
            f"{path}: is an Excel workbook, not a CSV file; in Excel, save it with File › "
            "Save As › “CSV UTF-8 (Comma delimited)” and import that file."
        )
    else:  # .xlsx is a zip archive, and so is a zipped CSV: both are named
        assert err.strip() == (
            f"{path}: is a zip archive (an Excel .xlsx workbook is one), not a CSV file; "
            "unzip it, or in Excel save it with File › Save As › “CSV UTF-8 (Comma "
            "delimited)”, and import that file."
        )
    assert count(workspace, Account) == before


def test_a_nul_byte_is_refused_naming_its_line(workspace, capsys, tmp_path) -> None:
    # PostgreSQL cannot store one: the import ended in "Something went wrong: DataError".
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER + "A1,2026-01-05,100,SO-1,ok\n" + "A1,2026-01-06,100,SO-2,bro\x00ken\n",
    )
    before = count(workspace, Order)

    code, out, err = run(capsys, "import", "orders", str(path), "--skip-bad")

    assert code == 1
    assert out == ""
    assert err.strip() == (
        f"{path}: line 3 holds a NUL byte (0x00), which is not text: the file is damaged or "
        "UTF-16 without a byte order mark; export it again as CSV UTF-8, or pass "
        "--encoding utf-16-le (or utf-16-be)."
    )
    assert count(workspace, Order) == before
