"""Load accounts, orders and contacts from the CSV files a CRM exports.

Every import first reads and checks the whole file, then writes. A file with a
bad row changes nothing (`ImportRowError` lists every bad row with its line and
column) unless the caller asks to skip bad rows; a dry run checks and counts but
writes nothing. Re-importing a file is idempotent: rows are matched to what is
already stored (accounts by CRM id, orders by order id or content, contacts by
e-mail or name) and counted as new, updated or unchanged.

Orders files run to millions of rows, so that path avoids per-row ORM objects:
values are converted to what the database driver expects once per distinct value
and written with the driver's `executemany`.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Column, Table, bindparam, delete, select, update
from sqlmodel import Session

from bot.retention.errors import ImportRowError, InvalidInput, RowProblem
from bot.retention.names import normalize_name
from models import Account, Contact, Order, Rep, RfmCutoffs

IMPORT_KINDS = ("accounts", "orders", "contacts")

PROGRESS_EVERY = 5_000
WRITE_CHUNK = 10_000
# Existing rows are fetched for the file's accounts in batches of ids; beyond this
# many accounts one scan of the whole table is cheaper than thousands of look-ups.
_SCAN_ALL_ABOVE = 20_000
_IDS_PER_QUERY = 1_000
# An order may be dated up to this long after "now"; later is a mistake in the file.
_FUTURE_SLACK = timedelta(days=1)
# Parsed timestamps are cached by their text; files repeat dates a lot.
_WHEN_CACHE_LIMIT = 200_000

_ACCOUNTS: Table = Account.__table__  # type: ignore[attr-defined]
_ORDERS: Table = Order.__table__  # type: ignore[attr-defined]
_CONTACTS: Table = Contact.__table__  # type: ignore[attr-defined]
_REPS: Table = Rep.__table__  # type: ignore[attr-defined]
_RFM_CUTOFFS: Table = RfmCutoffs.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Format:
    required: tuple[str, ...]
    optional: tuple[str, ...]

    def describe(self) -> str:
        return ", ".join(self.required) + (
            " (optional: " + ", ".join(self.optional) + ")" if self.optional else ""
        )


FORMATS = {
    "accounts": _Format(
        ("external_id", "name"), ("owner_email", "tier", "annual_value", "cadence_days")
    ),
    "orders": _Format(("account_external_id", "ordered_at", "amount"), ("order_id", "product")),
    "contacts": _Format(("account_external_id", "name"), ("email", "title")),
}


@dataclass
class ImportResult:
    """What an import did (or, in a dry run, would do)."""

    kind: str
    path: str
    rows: int  # data rows read, bad ones included
    created: int
    updated: int
    unchanged: int
    skipped: list[RowProblem] = field(default_factory=list)
    dry_run: bool = False
    reps_created: int = 0  # accounts only: owners seen for the first time

    @property
    def bad_rows(self) -> int:
        """How many rows were skipped (a row can have several problems)."""
        return len({problem.line for problem in self.skipped})

    def summary(self) -> str:
        """One line for a person, e.g. "orders.csv: 1,204 rows — 1,180 new, 20 updated, …"."""
        parts = [
            f"{self.created:,} new",
            f"{self.updated:,} updated",
            f"{self.unchanged:,} unchanged",
        ]
        if self.skipped:
            parts.append(f"{_plural(self.bad_rows, 'bad row')} skipped")
        text = f"{Path(self.path).name}: {_plural(self.rows, 'row')} — " + ", ".join(parts)
        if self.reps_created:
            text += f"; {_plural(self.reps_created, 'new rep')}"
        if self.dry_run:
            text += " (dry run: nothing written)"
        return text


def import_csv(
    *,
    session: Session,
    kind: str,
    path: Path,
    now: datetime,
    tiers: Sequence[str],
    dry_run: bool = False,
    skip_bad: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import one CSV file of `kind` ("accounts", "orders" or "contacts").

    Runs inside the caller's write transaction and never commits. Every row is
    checked before anything is written: with bad rows and no `skip_bad`, raises
    `ImportRowError` listing them all and writes nothing; with `skip_bad`, the
    good rows are imported and the bad rows' problems are returned in `skipped`.
    `progress(n)` is called with the number of rows read so far, every few
    thousand rows. File-level trouble (no such file, not UTF-8, a missing
    column) raises `InvalidInput` naming the file.
    """
    if kind not in IMPORT_KINDS:
        raise InvalidInput(f"Unknown import kind “{kind}”; use one of: {', '.join(IMPORT_KINDS)}.")
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    path = Path(path)
    planner = {"accounts": _plan_accounts, "orders": _plan_orders, "contacts": _plan_contacts}[kind]

    with _open(path) as handle:
        rows = _CsvRows(path, kind, handle, progress)
        plan = planner(session, rows, now=now, tiers=tiers)

    problems = sorted(rows.problems, key=lambda p: p.line)
    if problems and not skip_bad:
        raise ImportRowError(kind=kind, path=str(path), problems=problems)
    if not dry_run and (plan.created or plan.updated):
        plan.write()
        # Core statements bypass the identity map; nothing loaded before may be trusted.
        session.expire_all()
    if progress is not None:
        progress(rows.count)
    return ImportResult(
        kind=kind,
        path=str(path),
        rows=rows.count,
        created=plan.created,
        updated=plan.updated,
        unchanged=plan.unchanged,
        skipped=problems,
        dry_run=dry_run,
        reps_created=plan.reps_created,
    )


# --- reading the file --------------------------------------------------------------------


class _Bad(Exception):
    """A value that cannot be imported; `reason` says why, for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@contextmanager
def _open(path: Path) -> Iterator[TextIO]:
    """Open an import file as UTF-8 (a BOM is fine), turning OS errors into InvalidInput."""
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path}: is a folder, not a CSV file.") from None
    except OSError as error:
        raise InvalidInput(f"{path}: cannot open the file ({error.strerror}).") from None
    with handle:
        yield handle


class _CsvRows:
    """The data rows of one file, each with the line it starts on (the header is line 1).

    Blank lines are skipped. Rows that are not valid CSV, or that have more values
    than the header has columns, are recorded in `problems` and not yielded; short
    rows are padded with empty values.
    """

    def __init__(
        self, path: Path, kind: str, handle: TextIO, progress: Callable[[int], None] | None
    ) -> None:
        self.path = path
        self.kind = kind
        self.progress = progress
        self.problems: list[RowProblem] = []
        self.count = 0
        # strict: a stray quote ("abc"def) or an unclosed one is an error, not a guess.
        self._reader = csv.reader(handle, strict=True)
        self._last_line = 0
        self.columns, self.width = self._read_header(FORMATS[kind])

    def _read_header(self, fmt: _Format) -> tuple[dict[str, int], int]:
        """Column name -> index, and the header's width.

        Header cells are matched loosely (see `_header_key`), so "External ID",
        "external-id" and "Owner E-mail" name the `external_id` and `owner_email`
        columns; cells that match no known column keep their normalised name.
        """
        header: list[str] = []
        try:
            for header in self._reader:
                if any(cell.strip() for cell in header):
                    break
        except UnicodeDecodeError:
            raise _not_utf8(self.path) from None
        except csv.Error as error:
            raise InvalidInput(
                f"{self.path}: line {self._reader.line_num}: the header is not valid CSV ({error})."
            ) from None
        header_line = self._reader.line_num
        self._last_line = header_line
        cells = [cell.strip() for cell in header]
        if not any(cells):
            raise InvalidInput(
                f"{self.path}: the file is empty; {_a(self.kind)} file starts with a header line "
                f"naming its columns: {fmt.describe()}."
            )
        known = {_header_key(name): name for name in fmt.required + fmt.optional}
        columns: dict[str, int] = {}
        for index, cell in enumerate(cells):
            name = known.get(_header_key(cell), _normalise_header(cell))
            if name in columns and name in known.values():
                first = columns[name]
                raise InvalidInput(
                    f"{self.path}: line {header_line}: column “{name}” appears twice in the "
                    f"header (“{cells[first]}” in column {first + 1} and “{cell}” in column "
                    f"{index + 1})."
                )
            columns.setdefault(name, index)
        missing = [name for name in fmt.required if name not in columns]
        if missing:
            found = ", ".join(cell for cell in cells if cell) or "nothing"
            hint = ""
            if len(cells) == 1 and ";" in cells[0]:
                hint = " The file seems to use semicolons; save it with commas between values."
            raise InvalidInput(
                f"{self.path}: line {header_line}: the {self.kind} file has no "
                f"{_or_list(missing)} column (found: {found}). "
                f"Expected columns: {fmt.describe()}; case, spaces and hyphens in the names "
                f"do not matter.{hint}"
            )
        return {name: index for name, index in columns.items() if name}, len(cells)

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        reader = self._reader
        width = self.width
        progress = self.progress
        count = self.count
        last = self._last_line
        while True:
            try:
                for row in reader:
                    line = last + 1
                    last = reader.line_num
                    if not any(row):
                        continue
                    if len(row) != width:
                        try:
                            row = self._fit(row)
                        except _Bad as error:
                            count += 1
                            self.count = count
                            self.problems.append(RowProblem(line, None, error.reason))
                            continue
                        if row is None:
                            continue
                    count += 1
                    self.count = count
                    if progress is not None and not count % PROGRESS_EVERY:
                        progress(count)
                    yield line, row
                return
            except csv.Error as error:
                count += 1
                self.count = count
                self.problems.append(
                    RowProblem(last + 1, None, f"not valid CSV ({error}); check the quotes")
                )
                last = reader.line_num
            except UnicodeDecodeError:
                raise _not_utf8(self.path) from None

    def _fit(self, row: list[str]) -> list[str] | None:
        """Pad a short row; refuse a long one (an unquoted comma shifts every value)."""
        if not "".join(row).strip():
            return None
        if len(row) < self.width:
            return row + [""] * (self.width - len(row))
        if not any(cell.strip() for cell in row[self.width :]):
            return row[: self.width]
        raise _Bad(
            f"has {len(row)} values but the header has {self.width} columns; "
            "put quotes around values that contain commas"
        )

    def bad(self, line: int, column: str | None, reason: str) -> None:
        self.problems.append(RowProblem(line, column, reason))

    def check(
        self, line: int, column: str, parse: Callable[[str], Any], row: list[str], index: int | None
    ) -> Any:
        """`parse` the trimmed value at `index`, or None when the file has no such column
        or the value is bad (the problem is recorded)."""
        if index is None:
            return None
        try:
            return parse(row[index].strip())
        except _Bad as bad:
            self.problems.append(RowProblem(line, column, bad.reason))
            return None


def _not_utf8(path: Path) -> InvalidInput:
    """Name the first line that is not UTF-8 (the decoder reads ahead, so look again)."""
    where = ""
    with path.open("rb") as raw_file:
        for number, raw in enumerate(raw_file, start=1):
            if number == 1 and raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                return InvalidInput(
                    f"{path}: the file is UTF-16 text; save it as “CSV UTF-8” and import it again."
                )
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as error:
                where = f" line {number} (byte 0x{raw[error.start]:02X})"
                break
    return InvalidInput(
        f"{path}:{where} is not UTF-8 text; save the file as “CSV UTF-8” and import it again."
    )


# --- values ------------------------------------------------------------------------------

_PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_WHOLE_NUMBER = re.compile(r"[0-9]+")
_EMAIL = re.compile(r"[^@\s,;<>\"]+@[^@\s,;<>\".]+(?:\.[^@\s,;<>\".]+)+")
_CENT = Decimal("0.01")
# Numeric(16, 2): at most 14 digits before the point.
_MONEY_LIMIT = Decimal(10) ** 14


def _parse_money(text: str) -> Decimal:
    if not _PLAIN_NUMBER.fullmatch(text):
        if "," in text:
            raise _Bad(
                f"“{text}” has a comma in it; use a plain number like 1234.50 "
                "(no thousands separators, a point before the cents)"
            )
        raise _Bad(f"“{text}” is not a number; use a plain number like 1234.50")
    dot = text.find(".")
    if dot != -1 and len(text) - dot > 3 and text[dot + 3 :].strip("0"):
        raise _Bad(f"“{text}” has more than 2 decimal places")
    value = Decimal(text)
    if abs(value) >= _MONEY_LIMIT:
        raise _Bad(f"“{text}” is too large (the limit is 99999999999999.99)")
    return value


def _parse_annual_value(text: str) -> Decimal | None:
    if not text:
        return None
    value = _parse_money(text)
    if value < 0:
        raise _Bad(f"“{text}” is negative; an annual value is 0 or more")
    return value


def _parse_cadence(text: str) -> int | None:
    if not text:
        return None
    if not _WHOLE_NUMBER.fullmatch(text) or not 1 <= int(text) <= 730:
        raise _Bad(f"“{text}” is not a number of days from 1 to 730")
    return int(text)


def _parse_email(text: str) -> str:
    if not _EMAIL.fullmatch(text):
        raise _Bad(f"“{text}” is not an e-mail address")
    return text


def _parse_when(text: str) -> datetime:
    """An ISO date (midnight UTC) or date-time (converted to UTC; no offset means UTC)."""
    try:
        value = datetime.fromisoformat(text)
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise _Bad(
            f"“{text}” is not a date; use YYYY-MM-DD or an ISO date-time "
            "such as 2026-03-01T14:30:00Z"
        ) from None
    if value.year < 1900:
        raise _Bad(f"“{text}” is before 1900; is the year right?")
    return value


def _limit(column: Column[Any]) -> int:
    return column.type.length  # type: ignore[attr-defined,no-any-return]


def _too_long(text: str, limit: int) -> str:
    return f"is {len(text):,} characters long; the limit is {limit:,}"


def _binder(session: Session, column: Column[Any]) -> Callable[[Any], Any]:
    """The column type's conversion to the driver's value (e.g. a UTC string on SQLite)."""
    dialect = session.get_bind().dialect
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return _same
    return lambda value: None if value is None else process(value)


def _same(value: Any) -> Any:
    return value


# --- planning and writing ------------------------------------------------------------------


@dataclass
class _Plan:
    created: int
    updated: int
    unchanged: int
    write: Callable[[], None]
    reps_created: int = 0


def _plan_orders(session: Session, rows: _CsvRows, *, now: datetime, tiers: Sequence[str]) -> _Plan:
    """Orders match on (account, order id); without an order id, on their content.

    The content key hashes account, time, amount and product plus how many times
    that same content has appeared so far in the file, so two identical rows stay
    two orders and re-importing the file finds both again.
    """
    columns = rows.columns
    i_account = columns["account_external_id"]
    i_when = columns["ordered_at"]
    i_amount = columns["amount"]
    i_order_id = columns.get("order_id")
    i_product = columns.get("product")
    id_limit = _limit(_ORDERS.c.order_id)
    product_limit = _limit(_ORDERS.c.product)
    bind_when = _binder(session, _ORDERS.c.ordered_at)
    account_ids = _account_ids(session)

    # Orders are purchases that happened; a day of slack allows for time zones and clocks.
    latest = now.astimezone(UTC) + _FUTURE_SLACK

    def in_the_future(text: str, when: datetime) -> str | None:
        if when <= latest:
            return None
        # The day says it all, except on the last allowed day itself.
        after = latest.date().isoformat()
        if when.date() == latest.date():
            after = f"{latest:%Y-%m-%d %H:%M} UTC"
        return f"“{text}” is in the future (after {after}); orders are purchases that happened"

    # raw text -> (UTC datetime, driver value, canonical text for content keys,
    #              why it is in the future or None)
    when_cache: dict[str, tuple[datetime, Any, str, str | None]] = {}
    first_line: dict[tuple[int, str], int] = {}  # (account id, order id) -> line
    occurrences: dict[str, int] = {}
    # (account id, ordered_at, amount, order id, order key, product, driver ordered_at)
    parsed: list[tuple[int, datetime, Decimal, str | None, str, str | None, Any]] = []
    problems = rows.problems
    bad = rows.bad

    # The hot loop of the biggest import: fields are checked inline, not through helpers.
    for line, row in rows:
        before = len(problems)
        external_id = row[i_account].strip()
        account_id = account_ids.get(external_id)
        if account_id is None:
            if external_id:
                bad(line, "account_external_id", f"no account with external_id “{external_id}”")
            else:
                bad(line, "account_external_id", "is empty")

        text = row[i_when].strip()
        cached = when_cache.get(text)
        if cached is None:
            if not text:
                bad(line, "ordered_at", "is empty")
            else:
                try:
                    when = _parse_when(text)
                except _Bad as error:
                    bad(line, "ordered_at", error.reason)
                else:
                    if len(when_cache) >= _WHEN_CACHE_LIMIT:
                        when_cache.clear()
                    cached = when_cache[text] = (
                        when,
                        bind_when(when),
                        when.isoformat(),
                        in_the_future(text, when),
                    )
        if cached is not None and cached[3] is not None:
            bad(line, "ordered_at", cached[3])

        text = row[i_amount].strip()
        amount = None
        if not text:
            bad(line, "amount", "is empty")
        else:
            try:
                amount = _parse_money(text)
            except _Bad as error:
                bad(line, "amount", error.reason)

        order_id = (row[i_order_id].strip() or None) if i_order_id is not None else None
        if order_id is not None:
            if len(order_id) > id_limit:
                bad(line, "order_id", _too_long(order_id, id_limit))
            elif account_id is not None:
                seen = first_line.setdefault((account_id, order_id), line)
                if seen != line:
                    bad(
                        line,
                        "order_id",
                        f"order id “{order_id}” for account “{external_id}” is also on line {seen}",
                    )
        product = (row[i_product].strip() or None) if i_product is not None else None
        if product is not None and len(product) > product_limit:
            bad(line, "product", _too_long(product, product_limit))

        if len(problems) != before:
            continue
        assert cached is not None and amount is not None and account_id is not None
        if order_id is None:
            cents = str(amount.quantize(_CENT)) if amount else "0.00"
            content = f"{external_id}\x1f{cached[2]}\x1f{cents}\x1f{product or ''}"
            occurrence = occurrences[content] = occurrences.get(content, 0) + 1
            digest = hashlib.blake2b(content.encode(), digest_size=16).hexdigest()
            key = f"~{digest}:{occurrence}"
        else:
            key = order_id
        parsed.append((account_id, cached[0], amount, order_id, key, product, cached[1]))

    existing = _existing(
        session,
        select(
            _ORDERS.c.account_id,
            _ORDERS.c.order_key,
            _ORDERS.c.id,
            _ORDERS.c.ordered_at,
            _ORDERS.c.amount,
            _ORDERS.c.product,
        ),
        _ORDERS,
        {entry[0] for entry in parsed},
    )
    new = parsed
    changes: list[dict[str, Any]] = []
    unchanged = 0
    if existing:
        new = []
        for entry in parsed:
            old = existing.get((entry[0], entry[4]))
            if old is None:
                new.append(entry)
            elif old[1] == entry[1] and old[2] == entry[2] and old[3] == entry[5]:
                unchanged += 1
            else:
                changes.append(
                    {"_id": old[0], "ordered_at": entry[1], "amount": entry[2], "product": entry[5]}
                )

    def write() -> None:
        bind_amount = _binder(session, _ORDERS.c.amount)
        # Account by account, so the indexes on (account_id, …) fill in order.
        new.sort(key=itemgetter(0, 1))
        _insert(
            session,
            _ORDERS,
            ("account_id", "ordered_at", "amount", "order_id", "order_key", "product"),
            [(a, native, bind_amount(m), o, k, p) for a, _, m, o, k, p, native in new],
        )
        _update(session, _ORDERS, changes)
        # Orders change every RFM quintile; the cached cut points are now wrong.
        session.execute(delete(_RFM_CUTOFFS))

    return _Plan(len(new), len(changes), unchanged, write)


def _plan_accounts(
    session: Session, rows: _CsvRows, *, now: datetime, tiers: Sequence[str]
) -> _Plan:
    """Accounts match on external_id.

    A column left out of the header leaves that field alone. An empty cell clears
    an optional field (owner, annual value, cadence); an empty tier gives a new
    account the default tier and leaves an existing account's tier as it is.
    """
    columns = rows.columns
    i_id, i_name = columns["external_id"], columns["name"]
    i_owner, i_tier = columns.get("owner_email"), columns.get("tier")
    i_value, i_cadence = columns.get("annual_value"), columns.get("cadence_days")
    known_tiers = [tier.strip().lower() for tier in tiers]
    default_tier = "mid" if "mid" in known_tiers or not known_tiers else known_tiers[0]
    id_limit, name_limit = _limit(_ACCOUNTS.c.external_id), _limit(_ACCOUNTS.c.name)
    key_limit, email_limit = _limit(_ACCOUNTS.c.name_key), _limit(_REPS.c.email)

    def parse_tier(text: str) -> str | None:
        tier = text.lower()
        if tier and tier not in known_tiers:
            raise _Bad(f"“{text}” is not a tier; use one of: {', '.join(known_tiers)}")
        return tier or None

    def parse_owner(text: str) -> str | None:
        if not text:
            return None
        if len(text) > email_limit:
            raise _Bad(_too_long(text, email_limit))
        return _parse_email(text.lower())

    reps = dict(session.execute(select(_REPS.c.email, _REPS.c.id)).all())
    rep_emails = {rep_id: email for email, rep_id in reps.items()}
    stored = {
        external_id: rest
        for external_id, *rest in session.execute(
            select(
                _ACCOUNTS.c.external_id,
                _ACCOUNTS.c.id,
                _ACCOUNTS.c.name,
                _ACCOUNTS.c.owner_id,
                _ACCOUNTS.c.tier,
                _ACCOUNTS.c.annual_value,
                _ACCOUNTS.c.cadence_days,
            )
        )
    }
    first_line: dict[str, int] = {}
    new: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    unchanged = 0
    check = rows.check
    for line, row in rows:
        before = len(rows.problems)
        external_id = _required(rows, line, "external_id", row[i_id], id_limit)
        name = _required(rows, line, "name", row[i_name], name_limit)
        owner = check(line, "owner_email", parse_owner, row, i_owner)
        tier = check(line, "tier", parse_tier, row, i_tier)
        value = check(line, "annual_value", _parse_annual_value, row, i_value)
        cadence = check(line, "cadence_days", _parse_cadence, row, i_cadence)
        if external_id:
            seen = first_line.setdefault(external_id, line)
            if seen != line:
                rows.bad(line, "external_id", f"“{external_id}” is also on line {seen}")
        if len(rows.problems) != before:
            continue

        fields: dict[str, Any] = {"name": name, "name_key": normalize_name(name)[:key_limit]}
        if i_owner is not None:
            fields["owner_email"] = owner
        if i_value is not None:
            fields["annual_value"] = value
        if i_cadence is not None:
            fields["cadence_days"] = cadence
        old = stored.get(external_id)
        if old is None:
            fields.update(external_id=external_id, tier=tier or default_tier)
            new.append(fields)
            continue
        account_id, old_name, owner_id, old_tier, old_value, old_cadence = old
        fields["tier"] = tier or old_tier
        if (
            name == old_name
            and fields["tier"] == old_tier
            and fields.get("owner_email", rep_emails.get(owner_id)) == rep_emails.get(owner_id)
            and fields.get("annual_value", old_value) == old_value
            and fields.get("cadence_days", old_cadence) == old_cadence
        ):
            unchanged += 1
        else:
            fields["_id"] = account_id
            changes.append(fields)

    new_reps = sorted(
        {fields["owner_email"] for fields in new + changes if fields.get("owner_email")} - set(reps)
    )

    def write() -> None:
        bind_time = _binder(session, _REPS.c.created_at)
        bind_active = _binder(session, _REPS.c.active)
        _insert(
            session,
            _REPS,
            ("email", "tz", "active", "created_at"),
            [(email, "UTC", bind_active(True), bind_time(now)) for email in new_reps],
        )
        if new_reps:
            reps.update(session.execute(select(_REPS.c.email, _REPS.c.id)).all())
        for fields in new + changes:
            if "owner_email" in fields:
                email = fields.pop("owner_email")
                fields["owner_id"] = reps[email] if email else None
            fields["updated_at"] = now
        bind_value = _binder(session, _ACCOUNTS.c.annual_value)
        stamp = _binder(session, _ACCOUNTS.c.created_at)(now)
        _insert(
            session,
            _ACCOUNTS,
            (
                "external_id",
                "name",
                "name_key",
                "owner_id",
                "tier",
                "annual_value",
                "cadence_days",
                "created_at",
                "updated_at",
            ),
            [
                (
                    f["external_id"],
                    f["name"],
                    f["name_key"],
                    f.get("owner_id"),
                    f["tier"],
                    bind_value(f.get("annual_value")),
                    f.get("cadence_days"),
                    stamp,
                    stamp,
                )
                for f in sorted(new, key=itemgetter("external_id"))
            ],
        )
        _update(session, _ACCOUNTS, changes)

    return _Plan(len(new), len(changes), unchanged, write, reps_created=len(new_reps))


def _plan_contacts(
    session: Session, rows: _CsvRows, *, now: datetime, tiers: Sequence[str]
) -> _Plan:
    """Contacts match on (account, e-mail), or on (account, name) when there is no e-mail.

    A row with an e-mail also claims a stored contact of the same name that has no
    e-mail yet, so adding e-mails to a names-only file does not double the contacts.
    """
    columns = rows.columns
    i_account, i_name = columns["account_external_id"], columns["name"]
    i_email, i_title = columns.get("email"), columns.get("title")
    name_limit, email_limit = _limit(_CONTACTS.c.name), _limit(_CONTACTS.c.email)
    title_limit, key_limit = _limit(_CONTACTS.c.title), _limit(_CONTACTS.c.contact_key)
    account_ids = _account_ids(session)

    def parse_email(text: str) -> str | None:
        if not text:
            return None
        if len(text) > email_limit:
            raise _Bad(_too_long(text, email_limit))
        return _parse_email(text)

    def parse_title(text: str) -> str | None:
        if len(text) > title_limit:
            raise _Bad(_too_long(text, title_limit))
        return text or None

    first_line: dict[tuple[int, str], int] = {}
    # (line, account id, name, e-mail, title, e-mail key or None, name key)
    parsed: list[tuple[int, int, str, str | None, str | None, str | None, str]] = []
    for line, row in rows:
        before = len(rows.problems)
        external_id = _required(rows, line, "account_external_id", row[i_account], None)
        account_id = account_ids.get(external_id) if external_id else None
        if external_id and account_id is None:
            rows.bad(line, "account_external_id", f"no account with external_id “{external_id}”")
        name = _required(rows, line, "name", row[i_name], name_limit)
        email = rows.check(line, "email", parse_email, row, i_email)
        title = rows.check(line, "title", parse_title, row, i_title)
        email_key = email.lower() if email else None
        name_key = (normalize_name(name) or name.casefold())[:key_limit] if name else ""
        if account_id is not None and name:
            seen = first_line.setdefault((account_id, email_key or name_key), line)
            if seen != line:
                what = f"e-mail “{email}”" if email_key else f"name “{name}”"
                rows.bad(line, "email" if email_key else "name", f"same {what} as line {seen}")
        if len(rows.problems) == before:
            assert account_id is not None
            parsed.append((line, account_id, name, email, title, email_key, name_key))

    existing = _existing(
        session,
        select(
            _CONTACTS.c.account_id,
            _CONTACTS.c.contact_key,
            _CONTACTS.c.id,
            _CONTACTS.c.name,
            _CONTACTS.c.email,
            _CONTACTS.c.title,
        ),
        _CONTACTS,
        {entry[1] for entry in parsed},
    )
    new: list[tuple[int, str, str | None, str | None, str]] = []
    changes: list[dict[str, Any]] = []
    claimed: set[int] = set()
    unchanged = 0
    for _line, account_id, name, email, title, email_key, name_key in parsed:
        key = email_key or name_key
        old = existing.get((account_id, key))
        if old is not None and old[0] in claimed:
            old = None  # taken over by a row with an e-mail above; this is someone else
        if old is None and email_key:
            # The same person imported earlier by name only.
            by_name = existing.get((account_id, name_key))
            if by_name is not None and by_name[2] is None and by_name[0] not in claimed:
                old = by_name
        if old is None:
            new.append((account_id, name, email, title, key))
            continue
        claimed.add(old[0])
        old_id, old_name, old_email, old_title = old
        email = email if i_email is not None else old_email
        title = title if i_title is not None else old_title
        if (name, email, title) == (old_name, old_email, old_title):
            unchanged += 1
        else:
            changes.append(
                {"_id": old_id, "name": name, "email": email, "title": title, "contact_key": key}
            )

    def write() -> None:
        # Updates first: a claimed contact gives up its name key, which a new row may take.
        _update(session, _CONTACTS, changes)
        stamp = _binder(session, _CONTACTS.c.created_at)(now)
        _insert(
            session,
            _CONTACTS,
            ("account_id", "name", "email", "title", "contact_key", "created_at"),
            [(*entry, stamp) for entry in sorted(new, key=itemgetter(0, 4))],
        )

    return _Plan(len(new), len(changes), unchanged, write)


def _account_ids(session: Session) -> dict[str, int]:
    """external_id -> id for every account, in one narrow query."""
    return dict(session.execute(select(_ACCOUNTS.c.external_id, _ACCOUNTS.c.id)).all())


def _required(rows: _CsvRows, line: int, column: str, text: str, limit: int | None) -> str:
    text = text.strip()
    if not text:
        rows.bad(line, column, "is empty")
    elif limit is not None and len(text) > limit:
        rows.bad(line, column, _too_long(text, limit))
    return text


def _existing(
    session: Session, query: Any, table: Table, account_ids: set[int]
) -> dict[tuple[int, str], tuple[Any, ...]]:
    """Stored rows of the file's accounts: (account id, key) -> (id, *compared values)."""
    if not account_ids or session.execute(select(table.c.id).limit(1)).first() is None:
        return {}
    if len(account_ids) > _SCAN_ALL_ABOVE:
        return {
            (account_id, key): tuple(rest)
            for account_id, key, *rest in session.execute(query)
            if account_id in account_ids
        }
    found: dict[tuple[int, str], tuple[Any, ...]] = {}
    ids = sorted(account_ids)
    for start in range(0, len(ids), _IDS_PER_QUERY):
        batch = ids[start : start + _IDS_PER_QUERY]
        for account_id, key, *rest in session.execute(query.where(table.c.account_id.in_(batch))):
            found[account_id, key] = tuple(rest)
    return found


def _insert(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """INSERT with the driver's executemany; `rows` already hold driver values.

    SQLAlchemy's per-row parameter processing costs more than the database does
    for wide imports, so values are converted beforehand (see `_binder`) and the
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
        connection.exec_driver_sql(statement, list(rows[start : start + WRITE_CHUNK]))


def _update(session: Session, table: Table, changes: list[dict[str, Any]]) -> None:
    """UPDATE by primary key (`_id`) with executemany; each dict names the same columns."""
    if not changes:
        return
    # The SET clause comes from the parameters' keys; "_id" only feeds the WHERE.
    statement = update(table).where(table.c.id == bindparam("_id"))
    for start in range(0, len(changes), WRITE_CHUNK):
        session.execute(statement, changes[start : start + WRITE_CHUNK])


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _a(kind: str) -> str:
    """The kind with its article: "an orders", "an accounts", "a contacts"."""
    return f"{'an' if kind.startswith(tuple('aeiou')) else 'a'} {kind}"


_HEADER_SEPARATORS = re.compile(r"[\s\-.]+")
_UNDERSCORES = re.compile(r"_{2,}")


def _normalise_header(cell: str) -> str:
    """ " Owner E-mail " -> "owner_e_mail": lower case; runs of spaces, hyphens, dots
    and underscores become one underscore; none at either end."""
    name = _HEADER_SEPARATORS.sub("_", cell.strip().lower())
    return _UNDERSCORES.sub("_", name).strip("_")


def _header_key(cell: str) -> str:
    """What header cells are matched on: the normalised name without underscores, so
    "Owner E-mail", "owner_email" and "OwnerEmail" are the same column."""
    return _normalise_header(cell).replace("_", "")


def _or_list(names: list[str]) -> str:
    quoted = [f"“{name}”" for name in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
