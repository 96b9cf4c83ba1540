"""CSV imports of accounts, orders and contacts, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import func, select

from bot.db import Database
from bot.retention import importer
from bot.retention.errors import ImportRowError, InvalidInput, RowProblem
from bot.retention.importer import IMPORT_KINDS, ImportOptions, ImportResult, import_csv
from bot.retention.importer import staging as _staging  # noqa: F401 (monkeypatched)
from bot.retention.importer import writing as _writing  # noqa: F401 (monkeypatched)
from models import Account, Contact, Order, Rep, RfmCutoffs
from tests.support import factories as f
from tests.support.importing import NOW, bad_rows, run, where, write

LATER = NOW + timedelta(days=1)

ORDERS_HEADER = "account_external_id,ordered_at,amount,order_id,product\n"
ACCOUNTS_HEADER = "external_id,name,owner_email,tier,annual_value,cadence_days\n"


def count(db: Database, model) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def orders(db: Database) -> list[Order]:
    with db.session() as session:
        return list(session.exec(select(Order).order_by(Order.ordered_at, Order.id)))


def accounts_by_id(db: Database) -> dict[str, Account]:
    with db.session() as session:
        return {a.external_id: a for a in session.exec(select(Account))}


def counts(result: ImportResult) -> tuple[int, int, int, int]:
    return result.rows, result.created, result.updated, result.unchanged


@pytest.fixture
def two_accounts(db: Database) -> dict[str, int]:
    with db.transaction() as session:
        return {
            external_id: f.account(session, name, external_id=external_id).id
            for external_id, name in (("A1", "Acme"), ("B2", "Beta Supply"))
        }


# --- accounts ------------------------------------------------------------------------


def test_accounts_are_created_with_owners_tiers_and_keys(db: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "accounts.csv",
        ACCOUNTS_HEADER
        + "A1,Café-Müller & Co.,Jane.Doe@Seller.example,KEY,120000.50,14\n"
        + "A2,  Beta Supply  ,jane.doe@seller.example,,,\n"
        + "A3,Gamma,,small,0,730\n",
    )

    result = run(db, "accounts", path)

    assert counts(result) == (3, 3, 0, 0)
    assert result.reps_created == 1
    stored = accounts_by_id(db)
    with db.session() as session:
        rep = session.exec(select(Rep)).one()
    assert rep.email == "jane.doe@seller.example"
    assert rep.created_at == NOW
    acme = stored["A1"]
    assert (acme.name, acme.name_key) == ("Café-Müller & Co.", "cafe muller and co")
    assert (acme.tier, acme.annual_value, acme.cadence_days) == ("key", Decimal("120000.50"), 14)
    assert acme.owner_id == rep.id
    assert acme.created_at == NOW and acme.updated_at == NOW
    beta = stored["A2"]
    assert (beta.name, beta.tier, beta.annual_value, beta.cadence_days) == (
        "Beta Supply",
        "mid",
        None,
        None,
    )
    assert beta.owner_id == rep.id
    gamma = stored["A3"]
    assert (gamma.owner_id, gamma.tier, gamma.annual_value, gamma.cadence_days) == (
        None,
        "small",
        Decimal("0"),
        730,
    )


def test_a_name_with_line_breaks_is_stored_on_one_line(db: Database, tmp_path: Path) -> None:
    """A quoted CSV cell may hold line breaks; a name on two lines would break every
    card and reminder it appears in (a second line reading as a blockquote)."""
    path = write(
        tmp_path,
        "accounts.csv",
        ACCOUNTS_HEADER + 'A1,"Evil\n> quoted *bold*\r\n\tCo",,,,\n',
    )

    result = run(db, "accounts", path)

    assert counts(result) == (1, 1, 0, 0)
    assert accounts_by_id(db)["A1"].name == "Evil > quoted *bold* Co"


def test_default_tier_is_the_first_when_there_is_no_mid(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "accounts.csv", "external_id,name,tier\nA1,Acme,\n")
    with db.transaction() as session:
        import_csv(session=session, kind="accounts", path=path, now=NOW, tiers=("gold", "silver"))
    assert accounts_by_id(db)["A1"].tier == "gold"


def test_reimporting_accounts_reports_unchanged_and_keeps_timestamps(
    db: Database, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "accounts.csv",
        ACCOUNTS_HEADER + "A1,Acme,rep@seller.example,key,100.5,14\nA2,Beta,,,,\n",
    )
    run(db, "accounts", path)

    again = run(db, "accounts", path, now=LATER)

    assert counts(again) == (2, 0, 0, 2)
    assert again.reps_created == 0
    assert {a.updated_at for a in accounts_by_id(db).values()} == {NOW}
    assert count(db, Account) == 2 and count(db, Rep) == 1


def test_accounts_update_changed_fields_only_where_the_file_has_the_column(
    db: Database, tmp_path: Path
) -> None:
    run(
        db,
        "accounts",
        write(
            tmp_path,
            "first.csv",
            ACCOUNTS_HEADER + "A1,Acme,old@seller.example,key,100,14\nA2,Beta,,small,50,\n",
        ),
    )
    # No annual_value/cadence columns: those stay. An empty tier keeps the tier.
    second = write(
        tmp_path,
        "second.csv",
        "name,external_id,owner_email,tier\nAcme Corp,A1,new@seller.example,\nBeta,A2,,small\n",
    )

    result = run(db, "accounts", second, now=LATER)

    assert counts(result) == (2, 0, 1, 1)
    assert result.reps_created == 1
    stored = accounts_by_id(db)
    with db.session() as session:
        new_rep = session.exec(select(Rep).where(Rep.email == "new@seller.example")).one()
    acme = stored["A1"]
    assert (acme.name, acme.name_key, acme.owner_id) == ("Acme Corp", "acme corp", new_rep.id)
    assert (acme.tier, acme.annual_value, acme.cadence_days) == ("key", Decimal("100"), 14)
    assert (acme.created_at, acme.updated_at) == (NOW, LATER)
    assert stored["A2"].updated_at == NOW

    # An empty cell in a column the file has clears the value.
    third = write(
        tmp_path, "third.csv", "external_id,name,annual_value,owner_email\nA1,Acme Corp,,\n"
    )
    assert counts(run(db, "accounts", third)) == (1, 0, 1, 0)
    acme = accounts_by_id(db)["A1"]
    assert (acme.annual_value, acme.owner_id, acme.cadence_days) == (None, None, 14)


def test_bad_account_rows_are_all_listed_with_lines_and_columns(
    db: Database, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "accounts.csv",
        ACCOUNTS_HEADER
        + "A1,Acme,rep@seller.example,key,100,14\n"  # line 2: good
        + "\n"  # line 3: blank, skipped
        + ",No Id,,,,\n"  # 4
        + "A5,,,,,\n"  # 5
        + "A6,Six,rep@@seller,gold,,\n"  # 6: two problems
        + 'A7,"Seven\nSeven",,,-5,0\n'  # 7-8: a quoted line break; two problems
        + "A9,Nine,,,1,234.50,30\n"  # 9: an unquoted comma shifts the values
        + 'A10,Ten,,,"1,234.50",30.5\n'  # 10
        + "A1,Acme again,,,,\n"  # 11: duplicate id
        + f"A12,{'x' * 301},,,,\n",  # 12
    )

    problems = bad_rows(db, "accounts", path)

    assert where(problems) == [
        (4, "external_id"),
        (5, "name"),
        (6, "owner_email"),
        (6, "tier"),
        (7, "annual_value"),
        (7, "cadence_days"),
        (9, None),
        (10, "cadence_days"),
        (11, "external_id"),
        (12, "name"),
    ]
    reasons = {(p.line, p.column): p.reason for p in problems}
    assert reasons[4, "external_id"] == "is empty"
    assert "not an e-mail address" in reasons[6, "owner_email"]
    assert "“gold” is not a tier; use one of: key, mid, small" in reasons[6, "tier"]
    assert "negative" in reasons[7, "annual_value"]
    assert "from 1 to 730" in reasons[7, "cadence_days"]
    assert "7 values but the header has 6 columns" in reasons[9, None]
    assert "line 2 with different values" in reasons[11, "external_id"]
    assert "the limit is 300" in reasons[12, "name"]
    assert count(db, Account) == 0 and count(db, Rep) == 0


@pytest.mark.parametrize("cadence", ["0", "731", "-3", "abc", "1e2", "٣"])
def test_cadence_must_be_whole_days_from_1_to_730(
    db: Database, tmp_path: Path, cadence: str
) -> None:
    path = write(tmp_path, "accounts.csv", f"external_id,name,cadence_days\nA1,Acme,{cadence}\n")
    assert where(bad_rows(db, "accounts", path)) == [(2, "cadence_days")]


def test_accounts_dry_run_counts_without_writing(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "accounts.csv", ACCOUNTS_HEADER + "A1,Acme,rep@seller.example,,,\n")

    result = run(db, "accounts", path, dry_run=True)

    assert counts(result) == (1, 1, 0, 0) and result.reps_created == 1
    assert result.dry_run
    assert count(db, Account) == 0 and count(db, Rep) == 0


# --- orders ----------------------------------------------------------------------------


def test_orders_are_imported_with_times_in_utc(
    db: Database, tmp_path: Path, two_accounts: dict[str, int]
) -> None:
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER
        + "A1,2026-01-05,1234.50,SO-1,Widgets\n"
        + "A1,2026-01-06T09:30:00+02:00,10,SO-2,\n"
        + "B2,2026-01-07T23:15:00Z,-99.99,,Refunds\n"
        + "B2,2026-01-08 08:00:00,.5\n",  # short rows are padded
    )

    result = run(db, "orders", path)

    assert counts(result) == (4, 4, 0, 0)
    assert result.skipped == []
    got = [(o.account_id, o.ordered_at, o.amount, o.order_id, o.product) for o in orders(db)]
    a1, b2 = two_accounts["A1"], two_accounts["B2"]
    assert got == [
        (a1, datetime(2026, 1, 5, tzinfo=UTC), Decimal("1234.50"), "SO-1", "Widgets"),
        (a1, datetime(2026, 1, 6, 7, 30, tzinfo=UTC), Decimal("10"), "SO-2", None),
        (b2, datetime(2026, 1, 7, 23, 15, tzinfo=UTC), Decimal("-99.99"), None, "Refunds"),
        (b2, datetime(2026, 1, 8, 8, tzinfo=UTC), Decimal("0.5"), None, None),
    ]
    assert all(o.ordered_at.utcoffset() == timedelta(0) for o in orders(db))
    keys = [o.order_key for o in orders(db)]
    assert keys[:2] == ["SO-1", "SO-2"]
    assert all(key.startswith("~") for key in keys[2:])


def test_bad_order_rows_are_all_listed_and_nothing_is_written(
    db: Database, tmp_path: Path, two_accounts: dict[str, int]
) -> None:
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER
        + "A1,2026-01-05,100.00,SO-1,\n"  # 2: good
        + "ZZ9,2026-01-05,100.00,SO-2,\n"  # 3: unknown account
        + "A1,2026-02-30,100.00,SO-3,\n"  # 4: no such day
        + "A1,yesterday,100.00,SO-4,\n"  # 5
        + 'A1,2026-01-05,"1,234.5.0",SO-5,\n'  # 6: not an amount
        + "A1,2026-01-05,abc,SO-6,\n"  # 7
        + "A1,2026-01-05,NaN,SO-7,\n"  # 8
        + "A1,2026-01-05,inf,SO-8,\n"  # 9
        + "A1,2026-01-05,12.345,SO-9,\n"  # 10
        + "A1,,,SO-10,\n"  # 11: two missing values
        + "\n"  # 12: blank
        + "A1,2026-01-06,5.00,SO-1,\n"  # 13: duplicate of line 2
        + "B2,2026-01-06,5.00,SO-1,\n"  # 14: same id, other account: fine
        + f"B2,2026-01-06,5.00,,{'p' * 201}\n"  # 15
        + "A1,0099-01-01,5.00,,\n",  # 16
    )

    problems = bad_rows(db, "orders", path)

    assert where(problems) == [
        (3, "account_external_id"),
        (4, "ordered_at"),
        (5, "ordered_at"),
        (6, "amount"),
        (7, "amount"),
        (8, "amount"),
        (9, "amount"),
        (10, "amount"),
        (11, "ordered_at"),
        (11, "amount"),
        (13, "order_id"),
        (15, "product"),
        (16, "ordered_at"),
    ]
    reasons = {(p.line, p.column): p.reason for p in problems}
    assert reasons[3, "account_external_id"] == "no account with external_id “ZZ9”"
    assert "“2026-02-30” is not a date" in reasons[4, "ordered_at"]
    assert "is not an amount" in reasons[6, "amount"]
    assert "is not an amount" in reasons[7, "amount"]
    assert "more than 2 decimal places" in reasons[10, "amount"]
    assert reasons[11, "amount"] == "is empty"
    assert "“SO-1”" in reasons[13, "order_id"] and "line 2" in reasons[13, "order_id"]
    assert "the limit is 200" in reasons[15, "product"]
    assert count(db, Order) == 0


def test_one_bad_row_changes_nothing(
    db: Database, tmp_path: Path, two_accounts: dict[str, int]
) -> None:
    run(db, "orders", write(tmp_path, "first.csv", ORDERS_HEADER + "A1,2026-01-05,100,SO-1,\n"))
    with db.transaction() as session:
        session.add(RfmCutoffs(as_of=NOW.date(), payload="{}", computed_at=NOW))
    path = write(
        tmp_path,
        "second.csv",
        ORDERS_HEADER + "A1,2026-01-05,999,SO-1,\nA1,2026-01-06,5,SO-2,\nA1,2026-01-07,x,SO-3,\n",
    )

    with pytest.raises(ImportRowError) as caught:
        run(db, "orders", path)

    assert where(caught.value.problems) == [(4, "amount")]
    assert str(caught.value) == (
        f"{path}: 1 bad row in the orders file (1 problem); nothing was imported. "
        "Fix it, or re-run with --skip-bad to import the good rows."
    )
    assert [(o.order_id, o.amount) for o in orders(db)] == [("SO-1", Decimal("100"))]
    assert count(db, RfmCutoffs) == 1


def test_the_error_counts_rows_and_problems_in_plain_words() -> None:
    problems = [RowProblem(3, "amount", "bad"), RowProblem(3, "ordered_at", "bad")]
    problems += [RowProblem(7, None, "bad")]
    error = ImportRowError(kind="orders", path="orders.csv", problems=problems)
    assert error.message.startswith(
        "orders.csv: 2 bad rows in the orders file (3 problems); nothing was imported. Fix them,"
    )


def test_orders_dated_in_the_future_are_bad_rows_but_refunds_are_fine(
    db: Database, tmp_path: Path, two_accounts: dict[str, int]
) -> None:
    # NOW is 2026-06-15 14:00 UTC; up to a day later is allowed for time zones and clocks.
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER
        + "A1,2026-06-15T13:00:00Z,100,SO-1,\n"  # 2: an hour ago
        + "A1,2026-06-16,-40.00,SO-2,Refund\n"  # 3: tomorrow at midnight, a refund
        + "A1,2026-06-16T14:00:00Z,5,SO-3,\n"  # 4: exactly a day ahead
        + "A1,2026-06-16T14:00:01Z,5,SO-4,\n"  # 5: just over a day ahead
        + "B2,2027-06-15,5,SO-5,\n"  # 6: a year out (a typo'd year)
        + "B2,2027-06-15,6,SO-6,\n"  # 7: the same text again (cached parse)
        + "B2,2026-06-17T01:00:00+05:00,7,SO-7,\n",  # 8: 2026-06-16 20:00 UTC
    )

    problems = bad_rows(db, "orders", path)

    assert where(problems) == [
        (5, "ordered_at"),
        (6, "ordered_at"),
        (7, "ordered_at"),
        (8, "ordered_at"),
    ]
    reasons = [problem.reason for problem in problems]
    future = "“2027-06-15” is in the future (after 16 Jun 2026); orders are purchases that happened"
    assert reasons[1] == reasons[2] == future
    # On the last allowed day itself, the time tells where the line is.
    assert "(after 16 Jun 2026, 14:00 UTC)" in reasons[0] and "“2026-06-16T14:00:01Z”" in reasons[0]
    assert "(after 16 Jun 2026, 14:00 UTC)" in reasons[3]
    assert count(db, Order) == 0

    result = run(db, "orders", path, skip_bad=True)

    assert counts(result) == (7, 3, 0, 0)
    assert sorted(o.amount for o in orders(db)) == [Decimal("-40.00"), Decimal("5"), Decimal("100")]
    # A later "now" (a re-run next year) accepts the same dates.
    assert counts(run(db, "orders", path, now=NOW + timedelta(days=400))) == (7, 4, 0, 3)


def test_skip_bad_imports_the_good_rows_and_reports_the_rest(
    db: Database, tmp_path: Path, two_accounts: dict[str, int]
) -> None:
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER
        + "A1,2026-01-05,100,SO-1,\n"
        + "NOPE,2026-01-05,100,SO-2,\n"
        + "A1,2026-01-06,1.234,SO-3,\n"
        + "B2,2026-01-07,7,SO-4,\n"
        + "A1,2026-01-08,8,SO-1,\n",
    )

    result = run(db, "orders", path, skip_bad=True)

    assert counts(result) == (5, 2, 0, 0)
    assert where(result.skipped) == [(3, "account_external_id"), (4, "amount"), (6, "order_id")]
    assert result.bad_rows == 3
    assert [o.order_id for o in orders(db)] == ["SO-1", "SO-4"]
    assert (
        result.summary() == "orders.csv: 5 rows — 2 new, 0 updated, 0 unchanged, 3 bad rows skipped"
    )


def test_orders_dry_run_counts_but_writes_nothing(
    db: Database, tmp_path: Path, two_accounts: dict[str, int]
) -> None:
    run(db, "orders", write(tmp_path, "first.csv", ORDERS_HEADER + "A1,2026-01-05,100,SO-1,\n"))
    with db.transaction() as session:
        session.add(RfmCutoffs(as_of=NOW.date(), payload="{}", computed_at=NOW))
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER + "A1,2026-01-05,150,SO-1,\nA1,2026-01-06,5,SO-2,\nB2,2026-01-06,5,,\n",
    )

    result = run(db, "orders", path, dry_run=True)

    assert counts(result) == (3, 2, 1, 0)
    assert result.summary() == (
        "orders.csv: 3 rows — 2 new, 1 updated, 0 unchanged (dry run: nothing written)"
    )
    assert [(o.order_id, o.amount) for o in orders(db)] == [("SO-1", Decimal("100"))]
    assert count(db, RfmCutoffs) == 1


def test_dry_run_still_refuses_bad_rows(
    db: Database, tmp_path: Path, two_accounts: dict[str, int]
) -> None:
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + "A1,2026-13-01,5,,\n")
    assert where(bad_rows(db, "orders", path, dry_run=True)) == [(2, "ordered_at")]


def test_reimporting_orders_with_order_ids_creates_no_duplicates(
    db: Database, tmp_path: Path, two_accounts: dict[str, int]
) -> None:
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER + "A1,2026-01-05,100.00,SO-1,Widgets\nB2,2026-01-06T10:00:00+01:00,5,SO-2,\n",
    )
    run(db, "orders", path)

    again = run(db, "orders", path)

    assert counts(again) == (2, 0, 0, 2)
    assert again.summary() == "orders.csv: 2 rows — 0 new, 0 updated, 2 unchanged"
    assert count(db, Order) == 2


def test_repeated_keys_are_found_when_the_hashes_are_sorted_a_slice_at_a_time(
    db: Database, tmp_path: Path, two_accounts: dict[str, int], monkeypatch
) -> None:
    # Key hashes live in a file and are sorted HASHES_AT_ONCE at a time: here many passes.
    monkeypatch.setattr(importer.staging, "HASHES_AT_ONCE", 2)
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER
        + "A1,2026-01-05,100,,Widgets\n" * 3  # 2-4: three identical orders without an id
        + "A1,2026-01-06,5,SO-1,\n"  # 5
        + "B2,2026-01-07,5,SO-2,\n"  # 6
        + "A1,2026-01-06,5,SO-1,\n"  # 7: an identical repeat, collapsed
        + "B2,2026-01-08,7,SO-3,\n",  # 8
    )

    first = run(db, "orders", path)

    assert counts(first) == (7, 6, 0, 0) and first.duplicates == 1
    assert len({(o.account_id, o.order_key) for o in orders(db)}) == 6
    assert counts(run(db, "orders", path)) == (7, 0, 0, 6)
    clash = write(
        tmp_path, "clash.csv", ORDERS_HEADER + "A1,2026-01-06,5,SO-1,\nA1,2026-01-06,6,SO-1,\n"
    )
    assert where(bad_rows(db, "orders", clash)) == [(3, "order_id")]


def test_key_hashes_repeated_in_any_slice_are_all_found(monkeypatch) -> None:
    monkeypatch.setattr(importer.staging, "HASHES_AT_ONCE", 1_000)
    hashes = importer.staging.KeyHashes()
    values = [hash(("key", n)) for n in range(10_000)]
    values += [*values[::97], -1, -1, 2**63 - 1, 2**63 - 1, -(2**63)]
    for start in range(0, len(values), 3_000):
        for value in values[start : start + 3_000]:
            hashes.append(value)
        hashes.flush()

    assert len(hashes) == len(values)
    assert hashes.repeated() == set(values[::97]) | {-1, 2**63 - 1}


def test_orders_without_ids_are_matched_on_content_and_occurrence(
    db: Database, tmp_path: Path, two_accounts: dict[str, int]
) -> None:
    # Two genuinely identical rows are two orders; "100" and "100.00" are the same amount.
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER
        + "A1,2026-01-05,100,,Widgets\n"
        + "A1,2026-01-05,100.00,,Widgets\n"
        + "A1,2026-01-05,100,,Gadgets\n"
        + "B2,2026-01-05,100,,Widgets\n",
    )

    first = run(db, "orders", path)
    again = run(db, "orders", path)

    assert counts(first) == (4, 4, 0, 0)
    assert counts(again) == (4, 0, 0, 4)
    assert count(db, Order) == 4
    keys = {(o.account_id, o.order_key) for o in orders(db)}
    assert len(keys) == 4

    # One more identical row in a later export is a third order, not a re-import.
    more = write(
        tmp_path,
        "more.csv",
        ORDERS_HEADER + ("A1,2026-01-05T00:00:00Z,100.0,,Widgets\n" * 3),
    )
    assert counts(run(db, "orders", more)) == (3, 1, 0, 2)
    assert count(db, Order) == 5


def test_large_files_match_existing_orders_with_one_scan(
    db: Database, tmp_path: Path, two_accounts: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER + "A1,2026-01-05,100,SO-1,\nB2,2026-01-05,100,,\nB2,2026-01-06,1,SO-1,\n",
    )
    run(db, "orders", path)
    monkeypatch.setattr(importer.writing, "_SCAN_ALL_ABOVE", 1)
    changed = write(
        tmp_path,
        "changed.csv",
        ORDERS_HEADER + "A1,2026-01-05,100,SO-1,\nB2,2026-01-05,100,,\nB2,2026-01-06,2,SO-1,\n",
    )

    assert counts(run(db, "orders", changed)) == (3, 0, 1, 2)
    assert count(db, Order) == 3


def test_changed_orders_are_updated_in_place(
    db: Database, tmp_path: Path, two_accounts: dict[str, int]
) -> None:
    run(
        db,
        "orders",
        write(
            tmp_path,
            "first.csv",
            ORDERS_HEADER + "A1,2026-01-05,100,SO-1,Widgets\nA1,2026-01-06,7,SO-2,Gadgets\n",
        ),
    )
    (first_id,) = [o.id for o in orders(db) if o.order_id == "SO-1"]
    changed = write(
        tmp_path,
        "second.csv",
        ORDERS_HEADER + "A1,2026-01-04T12:00:00Z,120.5,SO-1,\nA1,2026-01-06,7.00,SO-2,Gadgets\n",
    )

    result = run(db, "orders", changed)

    assert counts(result) == (2, 0, 1, 1)
    stored = {o.order_id: o for o in orders(db)}
    assert stored["SO-1"].id == first_id
    assert (stored["SO-1"].ordered_at, stored["SO-1"].amount, stored["SO-1"].product) == (
        datetime(2026, 1, 4, 12, tzinfo=UTC),
        Decimal("120.50"),
        None,
    )
    assert stored["SO-2"].amount == Decimal("7")
    assert count(db, Order) == 2


def test_orders_that_write_clear_the_rfm_cache(
    db: Database, tmp_path: Path, two_accounts: dict[str, int]
) -> None:
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + "A1,2026-01-05,100,SO-1,\n")
    with db.transaction() as session:
        session.add(RfmCutoffs(as_of=NOW.date(), payload="{}", computed_at=NOW))

    run(db, "orders", path)
    assert count(db, RfmCutoffs) == 0

    # A re-import that changes nothing leaves a fresh cache alone.
    with db.transaction() as session:
        session.add(RfmCutoffs(as_of=NOW.date(), payload="{}", computed_at=NOW))
    run(db, "orders", path)
    assert count(db, RfmCutoffs) == 1


def test_existing_orders_of_other_accounts_are_untouched(
    db: Database, tmp_path: Path, two_accounts: dict[str, int]
) -> None:
    with db.transaction() as session:
        b2 = session.get(Account, two_accounts["B2"])
        f.order(session, b2, "2025-12-01", 50, order_key="SO-1", order_id="SO-1")
    path = write(tmp_path, "orders.csv", ORDERS_HEADER + "A1,2026-01-05,100,SO-1,\n")

    assert counts(run(db, "orders", path)) == (1, 1, 0, 0)
    assert sorted((o.account_id, o.amount) for o in orders(db)) == sorted(
        [(two_accounts["A1"], Decimal("100")), (two_accounts["B2"], Decimal("50"))]
    )


# --- contacts --------------------------------------------------------------------------


def test_contacts_are_keyed_by_email_or_name(
    db: Database, tmp_path: Path, two_accounts: dict[str, int]
) -> None:
    path = write(
        tmp_path,
        "contacts.csv",
        "account_external_id,name,email,title\n"
        + "A1,Jane Doe,Jane.Doe@Acme.example,Buyer\n"
        + 'A1,José Núñez,,"CFO and\nco-founder"\n'  # a quoted line break: one line
        + "B2,Jane Doe,,\n"
        + "  , ,\t,\n",  # cells of blanks only: a blank line
    )

    result = run(db, "contacts", path)

    assert counts(result) == (3, 3, 0, 0)
    with db.session() as session:
        stored = {
            (c.account_id, c.contact_key): (c.name, c.email, c.title, c.created_at)
            for c in session.exec(select(Contact))
        }
    a1, b2 = two_accounts["A1"], two_accounts["B2"]
    assert stored == {
        (a1, "jane.doe@acme.example"): ("Jane Doe", "Jane.Doe@Acme.example", "Buyer", NOW),
        (a1, "jose nunez"): ("José Núñez", None, "CFO and co-founder", NOW),
        (b2, "jane doe"): ("Jane Doe", None, None, NOW),
    }
    assert counts(run(db, "contacts", path)) == (3, 0, 0, 3)


def test_contacts_update_and_gain_an_email_without_duplicating(
    db: Database, tmp_path: Path, two_accounts: dict[str, int]
) -> None:
    header = "account_external_id,name,email,title\n"
    run(db, "contacts", write(tmp_path, "first.csv", header + "A1,Jose Nunez,,Buyer\n"))
    second = write(
        tmp_path,
        "second.csv",
        header + "A1,José Núñez,jose@acme.example,CFO\nA1,Ann Lee,ann@acme.example,\n",
    )

    result = run(db, "contacts", second)

    assert counts(result) == (2, 1, 1, 0)
    with db.session() as session:
        stored = sorted(
            (c.name, c.email, c.title, c.contact_key) for c in session.exec(select(Contact))
        )
    assert stored == [
        ("Ann Lee", "ann@acme.example", None, "ann@acme.example"),
        ("José Núñez", "jose@acme.example", "CFO", "jose@acme.example"),
    ]


def test_a_name_only_contact_is_claimed_once(
    db: Database, tmp_path: Path, two_accounts: dict[str, int]
) -> None:
    header = "account_external_id,name,email,title\n"
    run(db, "contacts", write(tmp_path, "first.csv", header + "A1,Jose Nunez,,\n"))
    # The first row takes over the stored name-only contact; the second, also without
    # an e-mail, is another person of that name and gets the name key the first gave up.
    second = write(
        tmp_path,
        "second.csv",
        header + "A1,Jose Nunez,jose@acme.example,\nA1,Jose Nunez,,Intern\n",
    )

    assert counts(run(db, "contacts", second)) == (2, 1, 1, 0)
    with db.session() as session:
        stored = sorted((c.contact_key, c.email, c.title) for c in session.exec(select(Contact)))
    assert stored == [
        ("jose nunez", None, "Intern"),
        ("jose@acme.example", "jose@acme.example", None),
    ]


def test_bad_contact_rows(db: Database, tmp_path: Path, two_accounts: dict[str, int]) -> None:
    path = write(
        tmp_path,
        "contacts.csv",
        "Account_External_ID , Name ,EMAIL,title,notes\n"
        + "A1,Jane,jane@acme.example,,ignored\n"  # 2: good
        + "X1,Joe,,,\n"  # 3: unknown account
        + "A1,Bob,bob@@acme,,\n"  # 4
        + "A1,,,,\n"  # 5: no name
        + "A1,Jane D.,JANE@acme.example,,\n"  # 6: same e-mail as line 2
        + f"A1,Al,,{'t' * 201},\n",  # 7
    )

    problems = bad_rows(db, "contacts", path)

    assert where(problems) == [
        (3, "account_external_id"),
        (4, "email"),
        (5, "name"),
        (6, "email"),
        (7, "title"),
    ]
    assert "“X1”" in problems[0].reason
    assert "line 2" in problems[3].reason
    assert count(db, Contact) == 0


# --- the file itself -------------------------------------------------------------------


def test_a_bom_and_loose_header_names_are_fine(
    db: Database, tmp_path: Path, two_accounts: dict[str, int]
) -> None:
    path = write(
        tmp_path,
        "orders.csv",
        "\ufeff Amount ,ORDERED_AT,Account_External_Id,Notes\r\n"
        + "  100.50 , 2026-01-05 ,A1,whatever\r\n",
    )

    result = run(db, "orders", path)

    assert counts(result) == (1, 1, 0, 0)
    (stored,) = orders(db)
    assert (stored.amount, stored.ordered_at) == (
        Decimal("100.50"),
        datetime(2026, 1, 5, tzinfo=UTC),
    )
    assert (stored.order_id, stored.product) == (None, None)


@pytest.mark.parametrize(
    "header",
    [
        "External ID,Name,Owner Email,Tier,Annual Value,Cadence Days",
        "external-id,NAME,owner-email,tier,annual-value,cadence-days",
        " External_ID , name , Owner E-mail , TIER , Annual.Value , Cadence  -  Days ",
        "ExternalId,Name,OwnerEmail,Tier,AnnualValue,CadenceDays",
        "external__id,name,owner_email,tier,annual_value,_cadence_days_",
    ],
)
def test_header_names_may_vary_in_case_spaces_hyphens_and_dots(
    db: Database, tmp_path: Path, header: str
) -> None:
    path = write(tmp_path, "accounts.csv", header + "\nA1,Acme,rep@seller.example,key,100,14\n")

    assert counts(run(db, "accounts", path)) == (1, 1, 0, 0)

    acme = accounts_by_id(db)["A1"]
    assert (acme.name, acme.tier, acme.annual_value, acme.cadence_days) == (
        "Acme",
        "key",
        Decimal("100"),
        14,
    )
    assert acme.owner_id is not None


def test_loose_order_and_contact_headers(
    db: Database, tmp_path: Path, two_accounts: dict[str, int]
) -> None:
    orders_file = write(
        tmp_path,
        "orders.csv",
        "Account External ID,Ordered At,Amount,Order-ID,Product\nA1,2026-01-05,100,SO-1,Widgets\n",
    )
    contacts_file = write(
        tmp_path,
        "contacts.csv",
        "account-external-id,Name,E-mail,Title\nA1,Jane Doe,jane@acme.example,Buyer\n",
    )

    assert counts(run(db, "orders", orders_file)) == (1, 1, 0, 0)
    assert counts(run(db, "contacts", contacts_file)) == (1, 1, 0, 0)
    (order,) = orders(db)
    assert (order.order_id, order.product) == ("SO-1", "Widgets")
    with db.session() as session:
        contact = session.exec(select(Contact)).one()
    assert (contact.email, contact.title) == ("jane@acme.example", "Buyer")


def test_a_column_named_twice_in_different_spellings_is_refused(
    db: Database, tmp_path: Path
) -> None:
    path = write(tmp_path, "accounts.csv", "External ID,name,external_id\nA1,Acme,A1\n")

    with pytest.raises(InvalidInput) as caught:
        run(db, "accounts", path)

    assert str(caught.value) == (
        f"{path}: line 1: column “external_id” appears twice in the header "
        "(“External ID” in column 1 and “external_id” in column 3)."
    )


def test_a_missing_column_is_named_even_when_other_headers_are_loose(
    db: Database, tmp_path: Path
) -> None:
    path = write(tmp_path, "orders.csv", "Account External ID,Order Date,Amount\nA1,2026-01-05,1\n")

    with pytest.raises(InvalidInput) as caught:
        run(db, "orders", path)

    message = str(caught.value)
    assert "the orders file has no “ordered_at” column" in message
    assert "found: Account External ID, Order Date, Amount" in message
    assert "case, spaces and hyphens in the names do not matter" in message


def test_a_missing_column_names_the_file_the_column_and_what_was_found(
    db: Database, tmp_path: Path
) -> None:
    path = write(tmp_path, "orders.csv", "account_external_id,date,total\nA1,2026-01-05,1\n")

    with pytest.raises(InvalidInput) as caught:
        run(db, "orders", path)

    message = str(caught.value)
    assert str(path) in message
    assert "“ordered_at” or “amount”" in message
    assert "found: account_external_id, date, total" in message


def test_semicolon_files_are_read_and_the_delimiter_is_named(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "accounts.csv", "external_id;name\nA1;Acme, Inc.\n")
    result = run(db, "accounts", path)
    assert result.created == 1
    assert "semicolon-separated (detected)" in result.detected
    assert accounts_by_id(db)["A1"].name == "Acme, Inc."


def test_windows_1252_and_utf16_files_are_detected(
    db: Database, tmp_path: Path, two_accounts: dict[str, int]
) -> None:
    text = ORDERS_HEADER + "A1,2026-01-05,1,,Widgets\n" + "A1,2026-01-06,2,,Café crème\n"
    path = write(tmp_path, "orders.csv", text, encoding="cp1252")

    result = run(db, "orders", path)

    assert result.created == 2
    assert "Windows-1252 (detected)" in result.detected
    assert sorted(o.product or "" for o in orders(db)) == ["Café crème", "Widgets"]
    utf16 = write(tmp_path, "utf16.csv", text.replace(",,", ",X,", 1), encoding="utf-16")
    result = run(db, "orders", utf16)
    assert "UTF-16 (detected)" in result.detected
    assert (result.created, result.unchanged) == (1, 1)  # the second row is the same order


def test_a_wrong_encoding_names_the_flag(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "accounts.csv"
    path.write_bytes(b"external_id,name\nA1,Acme\n" + b"A2,Caf\xe9\n")
    with pytest.raises(
        InvalidInput, match=r"line 3 \(byte 0xE9\) is not UTF-8 text; pass --encoding"
    ):
        run(db, "accounts", path, options=ImportOptions(encoding="utf-8"))
    assert count(db, Account) == 0


def test_broken_quotes_are_a_bad_row(
    db: Database, tmp_path: Path, two_accounts: dict[str, int]
) -> None:
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER + 'A1,2026-01-05,1,"SO-1"x,\nA1,2026-01-06,2,SO-2,\nA1,2026-01-07,3,"SO-3,\n',
    )

    result = run(db, "orders", path, skip_bad=True)

    assert where(result.skipped) == [(2, None), (4, None)]
    assert [o.order_id for o in orders(db)] == ["SO-2"]


def test_empty_missing_and_unknown_inputs(db: Database, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="accounts, orders, contacts, touches"):
        run(db, "widgets", tmp_path / "x.csv")
    with pytest.raises(InvalidInput, match="no such file"):
        run(db, "orders", tmp_path / "missing.csv")
    with pytest.raises(InvalidInput, match="the file is empty; an orders file starts"):
        run(db, "orders", write(tmp_path, "empty.csv", "\n\n"))
    with pytest.raises(InvalidInput, match="the file is empty; an accounts file starts"):
        run(db, "accounts", write(tmp_path, "empty.csv", ""))
    with pytest.raises(InvalidInput, match="the file is empty; a contacts file starts"):
        run(db, "contacts", write(tmp_path, "empty.csv", " , \n"))
    with pytest.raises(InvalidInput, match="has a header but no data rows"):
        run(db, "orders", write(tmp_path, "header.csv", ORDERS_HEADER))
    assert IMPORT_KINDS == ("accounts", "orders", "contacts", "touches")


def test_progress_is_reported_while_reading_and_writing(
    db: Database, tmp_path: Path, two_accounts: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Orders are written a statement of MERGE_CHUNK lines at a time, each one reported.
    monkeypatch.setattr(importer.staging, "MERGE_CHUNK", 10_000)
    path = write(
        tmp_path,
        "orders.csv",
        ORDERS_HEADER + "".join(f"A1,2026-01-05,{n}.00,SO-{n},\n" for n in range(12_001)),
    )
    seen: list[tuple[str, int, int | None]] = []

    result = run(db, "orders", path, progress=lambda *args: seen.append(args))

    assert result.created == 12_001
    assert seen == [
        ("reading", 5_000, None),
        ("reading", 10_000, None),
        ("reading", 12_001, 12_001),
        ("writing", 10_000, 12_001),
        ("writing", 12_001, 12_001),
        ("finishing", 12_001, 12_001),  # the summary, then the commit
    ]


def test_summary_reads_like_a_sentence() -> None:
    result = ImportResult(
        kind="accounts",
        path="/tmp/exports/accounts.csv",
        rows=1_204,
        created=1_180,
        updated=20,
        unchanged=3,
        skipped=[RowProblem(9, "tier", "bad"), RowProblem(9, "name", "bad")],
        dry_run=True,
        reps_created=2,
    )
    assert result.summary() == (
        "accounts.csv: 1,204 rows — 1,180 new, 20 updated, 3 unchanged, 1 bad row skipped; "
        "2 new reps (dry run: nothing written)"
    )
