"""Load accounts, orders, contacts and touches from the CSV files a CRM exports.

Every import first reads and checks the whole file, then writes. A file with a
bad row changes nothing (`ImportRowError` lists every bad row with its line and
column) unless the caller asks to skip bad rows; a dry run checks and counts but
writes nothing. Re-importing a file is idempotent: rows are matched to what is
already stored and counted as new, updated or unchanged.

Files are taken as CRMs write them: the encoding and delimiter are detected, the
columns are mapped (`--map`, a saved mapping, or a Salesforce, HubSpot or Pipedrive
preset recognised from the headers), and dates and amounts are read in the common
styles (`values`, `dates`). The modules: `reading` (file, header, mapping), `values`
and `dates`, `presets`, one planner per kind, `staging` (orders through a temporary
table), `writing` (bulk SQL), `problems` (bad rows, in memory that does not grow with
their number) and `result` (the summary).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from sqlmodel import Session

from bot.retention.dates import day_label
from bot.retention.errors import ImportRowError, InvalidInput
from bot.retention.importer.accounts import plan_accounts
from bot.retention.importer.contacts import plan_contacts
from bot.retention.importer.dates import DateOrderDecided
from bot.retention.importer.formats import FORMATS, ImportOptions, a_kind
from bot.retention.importer.orders import plan_orders
from bot.retention.importer.presets import PRESETS, VENDORS
from bot.retention.importer.problems import ImportProblem
from bot.retention.importer.reading import PROGRESS_EVERY, CsvRows, open_text, sniff
from bot.retention.importer.result import ImportResult, problem_lines, write_errors
from bot.retention.importer.touches import plan_touches
from bot.retention.importer.writing import WRITE_CHUNK
from models import OrderFeed

__all__ = [
    "FORMATS",
    "IMPORT_KINDS",
    "PRESETS",
    "PROGRESS_EVERY",
    "VENDORS",
    "WRITE_CHUNK",
    "ImportOptions",
    "ImportProblem",
    "ImportResult",
    "import_csv",
    "import_kind",
    "problem_lines",
    "record_order_feed",
    "write_errors",
]

IMPORT_KINDS = ("accounts", "orders", "contacts", "touches")
_KIND_ALIASES = {
    "account": "accounts",
    "order": "orders",
    "contact": "contacts",
    "touch": "touches",
    "activity": "touches",
    "activities": "touches",
}
_PLANNERS = {
    "accounts": plan_accounts,
    "orders": plan_orders,
    "contacts": plan_contacts,
    "touches": plan_touches,
}
Progress = Callable[[str, int, int | None], None]


def import_kind(text: str) -> str:
    """ "accounts", "account", "Activities" -> the import kind, or InvalidInput."""
    kind = text.strip().lower()
    kind = _KIND_ALIASES.get(kind, kind)
    if kind not in IMPORT_KINDS:
        raise InvalidInput(f"Unknown import kind “{text}”; use one of: {', '.join(IMPORT_KINDS)}.")
    return kind


def import_csv(
    *,
    session: Session,
    kind: str,
    path: Path,
    now: datetime,
    tiers: Sequence[str],
    dry_run: bool = False,
    skip_bad: bool = False,
    options: ImportOptions | None = None,
    progress: Progress | None = None,
    through: date | None = None,
) -> ImportResult:
    """Import one CSV file of `kind` (accounts, orders, contacts or touches).

    Runs inside the caller's write transaction and never commits. Every row is
    checked before anything is written: with bad rows and no `skip_bad`, raises
    `ImportRowError` listing them all and writes nothing; with `skip_bad`, the
    good rows are imported and the bad rows' problems are returned in `skipped`.
    `progress(stage, done, total)` is called every few thousand rows while
    "reading" (total None), after every chunk while "writing", and once as
    "finishing" when an orders import's rows are written (the summary follows). File-level
    trouble (no such file, a missing column, a header and no rows, ambiguous
    dates) raises `InvalidInput` naming the file.

    An orders import (not a dry run) records an `OrderFeed` row in the same transaction:
    the orders are complete through `through`, else through the file's latest order date.
    """
    kind = import_kind(kind)
    if now.tzinfo is None:
        raise ValueError("now must be a timezone-aware datetime")
    path = Path(path)
    options = options or ImportOptions()
    try:
        result = _import(session, kind, path, now, tiers, dry_run, skip_bad, options, progress)
    except DateOrderDecided as decided:
        # A value proved the dates day-first after month-first was assumed: read again.
        options = replace(options, date_order=decided.order)
        result = _import(session, kind, path, now, tiers, dry_run, skip_bad, options, progress)
    if kind == "orders":
        latest = result.through
        today = now.astimezone(UTC).date()
        # An order dated tomorrow (time zones) does not make the feed complete through
        # tomorrow, so --through today stays right for a file that has one.
        if through is not None and latest is not None and through < min(latest, today):
            raise InvalidInput(
                f"--through: {day_label(through)} is before the file's latest order "
                f"({day_label(latest)}); the orders are complete through a day on or after "
                "their last one. Give that day, or leave --through out."
            )
        result.through = through or latest
        if result.through is not None and result.through > today:
            # An order dated tomorrow (time zones) does not make the feed complete
            # through tomorrow; the latest through-date never moves back.
            result.through = today
        if not dry_run and result.through is not None:
            record_order_feed(
                session=session, source="csv", through=result.through, rows=result.rows, now=now
            )
    return result


def record_order_feed(
    *, session: Session, source: str, through: date, rows: int, now: datetime
) -> OrderFeed:
    """Record that the orders from `source` are complete through `through` (the caller
    commits, with the orders). A CRM sync calls this with its own name as the source."""
    feed = OrderFeed(source=source, through=through, finished_at=now, rows=rows)
    session.add(feed)
    session.flush()
    return feed


def _import(
    session: Session,
    kind: str,
    path: Path,
    now: datetime,
    tiers: Sequence[str],
    dry_run: bool,
    skip_bad: bool,
    options: ImportOptions,
    progress: Progress | None,
) -> ImportResult:
    found = sniff(path, options)
    with open_text(path, found.encoding) as handle:
        rows = CsvRows(path, kind, handle, options, found, progress)
        plan = _PLANNERS[kind](session, rows, now=now, tiers=tiers)
    if rows.count == 0:
        raise InvalidInput(
            f"{path}: the file has a header but no data rows, so there is nothing to import; "
            f"{a_kind(kind)} file has one row per line under the header."
        )
    rows.dates.check_decided(str(path))
    problems = rows.problems  # a ProblemLog: reads sorted by line
    if problems and not skip_bad:
        raise ImportRowError(kind=kind, path=str(path), problems=problems)
    if progress is not None:
        progress("reading", rows.count, rows.count)
    if not dry_run and (plan.created or plan.updated or plan.reps_changed):
        plan.write()
        # Core statements bypass the identity map; nothing loaded before may be trusted.
        session.expire_all()
    detected = found.describe()
    dates = rows.dates.describe()
    if dates:
        detected += f"; {dates}"
    if options.locale:
        detected += f"; amounts in the {options.locale} locale"
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
        duplicates=rows.duplicates,
        left_out=plan.left_out,
        warnings=plan.warnings,
        detected=detected,
        mapping=found.mapping,
        preset=found.preset.name if found.preset else None,
        through=plan.latest_day,
    )
