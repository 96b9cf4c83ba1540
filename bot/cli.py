"""`rebuy`: the command line for admins, and for trying Rebuy without Slack."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console
from rich.progress import Progress
from sqlalchemy.exc import OperationalError

from bot.retention.dates import day_label, moment_label
from bot.retention.errors import (
    AccountNotFound,
    AmbiguousAccount,
    ImportRowError,
    InvalidInput,
    RebuyError,
)
from bot.runtime import Runtime, build_runtime
from bot.settings import Settings

app = typer.Typer(
    name="rebuy",
    help="Rebuy keeps your mid-sized accounts buying again. Try `rebuy demo`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
reps_app = typer.Typer(help="Sales reps and their Slack users.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(reps_app, name="reps")

# Markup and emoji codes off: account names, file names and CSV cells are printed as
# they are ("[/bold]" or ":fire:" in a CRM export is text, not formatting).
out = Console(highlight=False, soft_wrap=True, markup=False, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)

AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="Compute as of this day (YYYY-MM-DD) instead of today."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _runtime(**overrides) -> Runtime:
    return build_runtime(Settings(**overrides) if overrides else None)


def parse_as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(
            f"--as-of: “{value}” is not a date; use YYYY-MM-DD, e.g. 2026-06-30."
        ) from None


def _now_for(runtime: Runtime, as_of: date | None) -> datetime:
    """`--as-of` replays a past day: "now" becomes the end of that day."""
    if as_of is None:
        return runtime.now()
    return datetime.combine(as_of, time(23, 59, 59), tzinfo=UTC)


def _print_json(payload: dict) -> None:
    out.print_json(json.dumps(payload, default=str), highlight=False)


# --- accounts -------------------------------------------------------------------------


@app.command()
def account(
    name: Annotated[list[str], typer.Argument(help="Account name (forgiving) or CRM id.")],
    as_json: AsJson = False,
    as_of: AsOf = None,
) -> None:
    """Show one account's status card: health, orders, touches, tactics."""
    from bot.retention.lookup import find_account_id
    from bot.retention.status import account_status
    from bot.terminal import status_card

    query = " ".join(name)
    try:
        day = parse_as_of(as_of)
        runtime = _runtime()
        # A read: no write lock, so a long import elsewhere never blocks a look-up.
        with runtime.db.session() as session:
            if day is not None:
                from bot.retention.report import check_as_of

                check_as_of(session=session, as_of=day, today=runtime.today())
            account_id = find_account_id(session=session, query=query)
            status = account_status(
                session=session,
                account_id=account_id,
                now=_now_for(runtime, day),
                as_of=day,
                tier_cadence=runtime.tier_cadence,
                calendars=runtime.calendars,
            )
    except (AccountNotFound, AmbiguousAccount, InvalidInput) as error:
        if as_json:
            _print_json({"error": error.message, "suggestions": getattr(error, "suggestions", [])})
            raise typer.Exit(1) from None
        raise
    if as_json:
        _print_json(status.to_dict())
    else:
        out.print(status_card(status))


@app.command()
def report(as_json: AsJson = False, as_of: AsOf = None) -> None:
    """The recency report: who stopped buying, who buys less, when the best last bought."""
    from bot.retention.report_command import report_command

    runtime = _runtime()
    code = report_command(
        database_url=runtime.settings.database_url,
        now=runtime.now(),
        as_json=as_json,
        as_of=as_of,
    )
    if code:
        raise typer.Exit(code)


# --- import ---------------------------------------------------------------------------


def _count_lines(path: Path) -> int:
    """About how many data rows `path` holds, for the progress bar: its lines less the
    header. A last line without a line break counts; a quoted line break counts twice
    (the bar is set to the true count when the import is done)."""
    lines = 0
    last = b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        lines += 1
    return max(0, lines - 1)


def _parse_map(values: list[str]) -> dict[str, str]:
    """--map external_id="Account ID",name="Account Name" (repeatable) as a dict."""
    import csv

    columns: dict[str, str] = {}
    for value in values:
        for pair in next(csv.reader([value], skipinitialspace=True)):
            name, equals, header = pair.partition("=")
            if not equals or not name.strip() or not header.strip():
                raise InvalidInput(
                    f'--map: “{pair}” is not field="Header"; '
                    'write e.g. --map external_id="Account ID",name="Account Name".'
                )
            columns[name.strip()] = header.strip().strip('"')
    return columns


def _read_mapping(path: Path) -> dict[str, str]:
    """A saved mapping (YAML or JSON): {field: header}, or the same under "columns"."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidInput(f"--mapping {path}: cannot read the file ({error.strerror}).") from None
    except yaml.YAMLError as error:
        raise InvalidInput(f"--mapping {path}: not YAML or JSON ({error}).") from None
    if isinstance(data, dict) and isinstance(data.get("columns"), dict):
        data = data["columns"]
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise InvalidInput(
            f'--mapping {path}: expected field: "Header" pairs, e.g. external_id: "Account ID".'
        )
    return data


@app.command("import")
def import_(
    kind: Annotated[str, typer.Argument(help="accounts, orders, contacts or touches")],
    file: Annotated[Path, typer.Argument(help="The CSV file exported from your CRM.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file and report, change nothing.")
    ] = False,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Import the good rows and list the bad ones.")
    ] = False,
    column_map: Annotated[
        list[str] | None,
        typer.Option("--map", help='Columns, e.g. external_id="Account ID",name="Account Name".'),
    ] = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="A saved mapping file (YAML or JSON).")
    ] = None,
    vendor: Annotated[
        str | None,
        typer.Option(
            "--from", help="The CRM the export comes from: salesforce, hubspot, pipedrive."
        ),
    ] = None,
    date_format: Annotated[
        str | None, typer.Option("--date-format", help="e.g. DD/MM/YYYY, MM/DD/YYYY or %d.%m.%Y.")
    ] = None,
    locale: Annotated[
        str | None, typer.Option("--locale", help="How amounts are written, e.g. de for 1.234,50.")
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option("--delimiter", help="Between values: , ; tab or | (detected).")
    ] = None,
    encoding: Annotated[
        str | None, typer.Option("--encoding", help="e.g. utf-8, utf-16, cp1252 (detected).")
    ] = None,
    errors_file: Annotated[
        Path | None, typer.Option("--errors", help="Write every problem to this CSV file.")
    ] = None,
    through: Annotated[
        str | None,
        typer.Option(
            "--through",
            help="Orders: the date the file is complete through (default: its latest order).",
        ),
    ] = None,
) -> None:
    """Load accounts, orders, contacts or touches from a CSV file (all or nothing unless
    --skip-bad). CRM exports are read as they are: see "From your CRM" in the README."""
    from bot.retention.importer import VENDORS, ImportOptions, import_csv, import_kind
    from bot.retention.importer.values import check_locale
    from bot.terminal import import_progress

    kind = import_kind(kind)
    through_day = _day_option("--through", through)
    if through_day is not None and kind != "orders":
        raise InvalidInput("--through: only an orders import has a through-date.")
    if file.is_dir():
        raise InvalidInput(f"{file}: is a folder, not a CSV file.")
    if not file.is_file():
        raise InvalidInput(f"{file}: no such file.")
    if vendor is not None and vendor.lower() not in VENDORS:
        raise InvalidInput(f"--from: “{vendor}” is not one of {', '.join(VENDORS)}.")
    columns = _read_mapping(mapping) if mapping else {}
    columns.update(_parse_map(column_map or []))
    options = ImportOptions(
        columns=columns,
        vendor=vendor.lower() if vendor else None,
        date_format=date_format,
        locale=check_locale(locale),
        delimiter=delimiter,
        encoding=encoding,
    )
    runtime = _runtime()
    if through_day is not None and through_day > runtime.now().astimezone(UTC).date():
        # The latest through-date is the model's data cut-off, which never moves back.
        raise InvalidInput(f"--through: {day_label(through_day)} is in the future.")
    total = _count_lines(file)
    try:
        with (
            import_progress(err, kind, total, Progress) as progress,
            runtime.db.transaction() as session,
        ):
            result = import_csv(
                session=session,
                kind=kind,
                path=file,
                now=runtime.now(),
                tiers=runtime.settings.tiers,
                dry_run=dry_run,
                skip_bad=skip_bad,
                options=options,
                progress=progress,
                through=through_day,
            )
            if dry_run:
                session.rollback()
    except ImportRowError as error:
        _print_problems(error.message, error.problems, errors_file)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        # The transaction was rolled back on the way out.
        err.print("Interrupted: nothing was imported.")
        raise typer.Exit(130) from None
    out.print(result.summary())
    for line in result.details(verbose=dry_run):
        out.print(line)
    if result.skipped:
        bad = result.bad_rows
        _print_problems(
            f"Skipped {bad:,} bad row{'' if bad == 1 else 's'}:", result.skipped, errors_file
        )
    if result.skipped and not (result.created + result.updated + result.unchanged):
        # --skip-bad with nothing good: a failure, not a successful import of nothing.
        err.print(f"{file}: every row is bad; nothing was imported.")
        raise typer.Exit(1)
    if kind == "orders" and not dry_run:
        _fit_after_import(runtime)


def _fit_after_import(runtime: Runtime) -> None:
    """One line about the re-buy model's fit to the new data cut-off; a failed fit is
    reported but never fails the import (it is committed already)."""
    from bot.retention.rebuy_model.fit_job import fit_after_import

    run = fit_after_import(
        db=runtime.db, now=runtime.now(), configured_cutoff=runtime.settings.rebuy_data_cutoff
    )
    out.print(run.line)


def _print_problems(heading: str, problems: list, errors_file: Path | None) -> None:
    """At most ~20 lines whatever the number of problems; every one in --errors FILE."""
    from bot.retention.importer import problem_lines, write_errors

    err.print(heading)
    if errors_file is not None:
        write_errors(errors_file, problems)
    err.print("\n".join(problem_lines(problems, str(errors_file) if errors_file else None)))


# --- reminders --------------------------------------------------------------------------


@app.command()
def remind(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the reminders instead of sending them.")
    ] = False,
    rep: Annotated[
        str | None, typer.Option("--rep", help="Only this rep (e-mail).", metavar="EMAIL")
    ] = None,
) -> None:
    """Send today's reminder DMs now, to every rep inside their morning window
    (REMINDER_TIME to REMINDER_CUTOFF, their time zone) on a working day with accounts due;
    a second run the same day sends nothing. --dry-run prints the messages instead.
    Exits 1, naming the reps and why, when some could not be reached after retries."""
    from bot.delivery.remind import preview_reminders, remind_now

    runtime = _runtime()

    def echo(line: str) -> None:
        out.print(line, markup=False, emoji=False, soft_wrap=True)

    if dry_run:
        echo(preview_reminders(runtime, rep_email=rep, echo=echo))
        return
    result = remind_now(runtime, rep_email=rep, echo=echo)
    echo(str(result))
    if not result.complete:
        raise typer.Exit(1)


@app.command()
def away(
    rep_email: Annotated[str, typer.Argument(metavar="REP_EMAIL", help="The rep who is away.")],
    starts: Annotated[str, typer.Argument(metavar="FROM", help="First day away (YYYY-MM-DD).")],
    ends: Annotated[str, typer.Argument(metavar="TO", help="Last day away (YYYY-MM-DD).")],
    cover: Annotated[
        str | None, typer.Option("--cover", help="A rep who covers meanwhile.", metavar="EMAIL")
    ] = None,
) -> None:
    """Record an away period: no reminders and a frozen streak from FROM to TO (both
    included); with --cover the rep's due accounts go to the cover's morning DM."""
    from bot.retention.calendar import set_away

    runtime = _runtime()
    first, last = _day_arg(starts, "FROM"), _day_arg(ends, "TO")
    with runtime.db.transaction() as session:
        rep_id = _rep_id(session, rep_email)
        cover_id = _rep_id(session, cover) if cover else None
        set_away(
            session=session,
            rep_id=rep_id,
            starts_on=first,
            ends_on=last,
            cover_rep_id=cover_id,
            now=runtime.now(),
        )
    covered = f", covered by {cover.strip().lower()}" if cover else ""
    span = f"{day_label(first, weekday=True)} to {day_label(last, weekday=True)}"
    out.print(f"{rep_email.strip().lower()} is away {span}{covered}.")


def _day_arg(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{what} “{text}” is not a date: use YYYY-MM-DD.") from None


def _rep_id(session, email: str) -> int:
    from sqlmodel import select

    from models import Rep

    rep_row = session.exec(select(Rep).where(Rep.email == email.strip().lower())).first()
    if rep_row is None:
        raise InvalidInput(f"No rep with e-mail {email}.")
    return rep_row.id


def _print_due(runtime: Runtime, *, rep_email: str | None = None) -> None:
    from sqlmodel import select

    from bot.retention.due import due_by_rep
    from bot.terminal import due_list
    from models import Rep

    with runtime.db.transaction() as session:
        query = select(Rep).order_by(Rep.email)
        if rep_email:
            query = query.where(Rep.email == rep_email.strip().lower())
        reps = list(session.exec(query))
        if rep_email and not reps:
            raise InvalidInput(f"No rep with e-mail {rep_email}.")
        due = due_by_rep(
            session=session,
            as_of=runtime.today(),
            now=runtime.now(),
            tier_cadence=runtime.tier_cadence,
            calendars=runtime.calendars,
            limit=runtime.settings.reminder_max_per_day,
            owner_ids=[r.id for r in reps],
        )
        for rep_row in reps:
            label = (
                f"{rep_row.name or rep_row.email} <{rep_row.email}>"
                if rep_row.name
                else rep_row.email
            )
            out.print(due_list(label, due.get(rep_row.id, [])))


# --- demo -------------------------------------------------------------------------------


@app.command()
def demo(
    path: Annotated[
        Path, typer.Option("--db", help="Where to create the demo SQLite database.")
    ] = Path("rebuy-demo.db"),
) -> None:
    """Create a demo workspace (SQLite, no Slack needed) and show what a rep would see."""
    from bot.demo import seed_demo
    from bot.retention.lookup import find_account_id
    from bot.retention.status import account_status
    from bot.terminal import status_card

    if path.exists() and not is_demo_database(path):
        raise InvalidInput(
            f"{path} exists and is not a Rebuy demo database, so I won't overwrite it. "
            "Pick another file with --db, or move it away first."
        )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path.resolve()}"
    runtime = build_runtime(Settings(database_url=url))
    with runtime.db.transaction() as session:
        summary = seed_demo(session=session, now=runtime.now())
    out.print(
        f"Demo workspace created in {path}: {summary.accounts} accounts, {summary.orders:,} "
        f"orders, {summary.contacts} contacts and {summary.touches} touches for "
        f"{summary.reps} reps.\n"
    )
    with runtime.db.transaction() as session:
        account_id = find_account_id(session=session, query=summary.featured_account)
        status = account_status(
            session=session,
            account_id=account_id,
            now=runtime.now(),
            tier_cadence=runtime.tier_cadence,
            calendars=runtime.calendars,
        )
    out.print(f"What `/account {summary.featured_account}` shows:")
    out.print(status_card(status))
    out.print(
        "\nToday's reminders, as each rep would get them (on working days, at "
        f"{runtime.settings.reminder_time:%H:%M} in each rep's own time zone):"
    )
    _print_due(runtime)
    rebuy = _this_command()
    out.print(
        f"\nTry it yourself:\n  DATABASE_URL={url} {rebuy} account atlas\n"
        f"  DATABASE_URL={url} {rebuy} account northwind   (two accounts match: you choose)\n"
        f"  DATABASE_URL={url} {rebuy} report"
    )


def _this_command() -> str:
    """How the user ran us (".venv/bin/rebuy" or "rebuy"), for copy-paste hints."""
    import shutil

    invoked = Path(sys.argv[0])
    if invoked.name == "rebuy" and shutil.which("rebuy") != str(invoked.resolve()):
        try:
            return str(invoked.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(invoked)
    return "rebuy"


def is_demo_database(path: Path) -> bool:
    """True for a SQLite file `rebuy demo` made (every rep at the demo domain)."""
    import sqlite3

    from bot.demo import DEMO_DOMAIN

    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            emails = [row[0] for row in connection.execute("SELECT email FROM rep")]
        finally:
            connection.close()
    except sqlite3.Error:
        return False
    return all(email.endswith("@" + DEMO_DOMAIN) for email in emails)


# --- database and reps ------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (runs on start anyway)."""
    runtime = build_runtime(migrate=False)
    before = runtime.db.current_revision()
    runtime.db.upgrade()
    after = runtime.db.current_revision()
    out.print(
        f"Database at revision {after}"
        + (" (unchanged)" if before == after else f" (was {before or 'empty'})")
    )


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", "--message", help="What the change does.")],
) -> None:
    """For developers: write a new migration from the difference between models and DB."""
    from alembic import command

    from bot.db import alembic_config

    runtime = build_runtime()
    config = alembic_config(runtime.settings.database_url)
    command.revision(config, message=message, autogenerate=True)


@db_app.command("rebuild-summary")
def db_rebuild_summary() -> None:
    """Recompute every account's purchase summary from its orders (normally kept up to
    date by every write; for after a restore or a manual edit of orders)."""
    from sqlalchemy import func, select

    from bot.retention.summary import SUMMARY, refresh_summary

    runtime = _runtime()
    with runtime.db.transaction() as session:
        refresh_summary(session.connection(), None, today=runtime.today())
        rows = session.execute(select(func.count()).select_from(SUMMARY)).scalar_one()
    out.print(f"Summary rebuilt: {rows:,} accounts with orders.")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision the database is at."""
    runtime = build_runtime(migrate=False)
    out.print(runtime.db.current_revision() or "empty (run `rebuy db upgrade`)")


@reps_app.command("sync")
def reps_sync() -> None:
    """Map reps' e-mails to Slack users and cache their time zones (users.list)."""
    from bot.reminders import sync_reps

    runtime = _runtime()
    out.print(sync_reps(runtime))


@reps_app.command("set")
def reps_set(
    rep_email: Annotated[str, typer.Argument(metavar="EMAIL", help="The rep's e-mail.")],
    country: Annotated[
        str,
        typer.Option(
            "--country",
            help="ISO country code (e.g. DE) whose public holidays are the rep's days off; "
            '"" for the workspace default (HOLIDAY_COUNTRY).',
        ),
    ],
    subdivision: Annotated[
        str | None,
        typer.Option("--subdivision", help="A state or region of the country (e.g. BY)."),
    ] = None,
) -> None:
    """Set a rep's holiday calendar: reminders skip those days and due dates move past
    them."""
    from bot.retention.reps import set_rep_calendar

    runtime = _runtime()
    with runtime.db.transaction() as session:
        rep = set_rep_calendar(
            session=session, email=rep_email, country=country, subdivision=subdivision
        )
        where = "-".join(part for part in (rep.country, rep.subdivision) if part)
        email = rep.email
    if where:
        out.print(f"{email}: public holidays of {where}.")
    else:
        default = runtime.settings.holiday_country or "none: weekends only"
        out.print(f"{email}: the workspace default (HOLIDAY_COUNTRY: {default}).")


@app.command()
def sync(
    source: Annotated[
        str | None,
        typer.Argument(
            help="hubspot, salesforce or sql (default: every configured source); "
            "`status` shows the last runs."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Pull and check everything, change nothing.")
    ] = False,
    full: Annotated[
        bool, typer.Option("--full", help="Pull everything again, not only what changed.")
    ] = False,
) -> None:
    """Sync accounts, contacts, orders and touches from your CRM, and write Rebuy's touches
    back to it. See "Connect your CRM" in the README."""
    from bot.crm.config import configured_sources
    from bot.crm.jobs import sync_sources, write_back
    from bot.crm.sync import describe_runs, last_runs

    runtime = _runtime()
    if source == "status":
        with runtime.db.session() as session:
            lines = describe_runs(last_runs(session))
        for line in lines or ["No sync has run yet: `rebuy sync`."]:
            out.print(line)
        return
    names = [source.strip().lower()] if source else configured_sources(runtime.settings)
    if not names:
        raise InvalidInput(
            "No CRM is configured: set HUBSPOT_TOKEN, SALESFORCE_INSTANCE_URL and "
            "SALESFORCE_TOKEN, or SYNC_SQL_URL and SYNC_SQL_QUERIES (README: Connect your CRM)."
        )
    if not dry_run:
        outbox = write_back(runtime, names)
        if outbox.sent or outbox.deleted or outbox.retrying or outbox.failed or outbox.auth_failed:
            out.print(outbox.summary())

    def progress(stream: str, read: int) -> None:
        err.print(f"  {stream}: {read:,} records")

    failed = False

    def report(result) -> None:
        nonlocal failed
        out.print(result.summary())
        for line in [] if result.status == "busy" else result.errors[:10]:
            out.print(f"  {line}")
        if len(result.errors) > 10:
            out.print("  …and more: `rebuy sync status`")
        failed = failed or result.status in ("failed", "busy")

    try:
        sync_sources(
            runtime, names, full=full, dry_run=dry_run, progress=progress, on_result=report
        )
    except KeyboardInterrupt:
        err.print("Interrupted: every stored chunk stays; the next sync resumes there.")
        raise typer.Exit(130) from None
    if not dry_run:
        _refit_if_behind(runtime)
    if failed:
        raise typer.Exit(1)


def _refit_if_behind(runtime: Runtime) -> None:
    """After a sync that moved the data cut-off, refit the re-buy model (one line)."""
    from bot.retention.rebuy_model.store import fit_is_behind

    with runtime.db.session() as session:
        behind = fit_is_behind(session=session, configured=runtime.settings.rebuy_data_cutoff)
    if behind:
        _fit_after_import(runtime)


@app.command()
def serve() -> None:
    """Run the Slack app: Socket Mode with SLACK_APP_TOKEN, else HTTP on PORT."""
    from bot.app import serve as run

    run(_runtime())


# --- rebuy model: the likelihood-to-re-buy models -------------------------------------

model_app = typer.Typer(help="The likelihood-to-re-buy models (BG/NBD).", no_args_is_help=True)
app.add_typer(model_app, name="model")


def _day_option(option: str, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{option}: “{value}” is not a date; use YYYY-MM-DD.") from None


def _data_cutoff(runtime: Runtime, session, value: str | None) -> date:
    from bot.retention.rebuy_model.store import data_cutoff

    cutoff = _day_option("--cutoff", value) or data_cutoff(
        session=session, configured=runtime.settings.rebuy_data_cutoff
    )
    if cutoff is None:
        raise InvalidInput("There are no orders yet: import orders first (rebuy import orders).")
    return cutoff


Cutoff = Annotated[
    str | None,
    typer.Option(
        "--cutoff",
        help="The date the order data is complete through (default: REBUY_DATA_CUTOFF, "
        "else the latest orders import's through-date).",
    ),
]


@model_app.command("fit")
def model_fit(cutoff: Cutoff = None, as_json: AsJson = False) -> None:
    """Fit the models to this workspace's orders, store the fit, say whether it is shown."""
    from bot.retention.rebuy_model.fit_job import fit_line, run_fit

    runtime = _runtime()
    with runtime.db.session() as session:
        day = _data_cutoff(runtime, session, cutoff)
    run = run_fit(db=runtime.db, now=runtime.now(), configured_cutoff=day)
    if as_json:
        _print_json(json.loads(run.fit.result_json) | {"fit_id": run.fit.id})
        return
    _print_fit(run.fit)
    out.print(fit_line(run.fit))


def _print_fit(row) -> None:
    if row.accounts and row.r is not None:
        out.print(
            f"r={row.r:.4f} alpha={row.alpha:.4f} a={row.a:.4f} b={row.b:.4f} (weeks), "
            f"log-likelihood {row.log_likelihood:.2f}"
        )


@model_app.command("show")
def model_show(as_json: AsJson = False) -> None:
    """The stored fit the reps' scores come from, or why none is shown."""
    from bot.retention.rebuy_model.store import data_cutoff, freshness, latest_fit

    runtime = _runtime()
    with runtime.db.session() as session:
        row = latest_fit(session=session)
        current = data_cutoff(session=session, configured=runtime.settings.rebuy_data_cutoff)
    if row is None:
        message = "No re-buy model fit is stored yet, so reps see no chance of an order."
        hint = (
            " Import orders (rebuy import orders FILE) first."
            if current is None
            else " Run: rebuy model fit."
        )
        if as_json:
            _print_json({"fit": None, "shown": False, "reason": message + hint})
        else:
            out.print(message + hint)
        return
    fresh = freshness(row.cutoff, today=runtime.now().date(), data_through=current)
    if as_json:
        _print_json(
            {
                "fit_id": row.id,
                "created_at": row.created_at.isoformat(),
                "shown": row.reliable and fresh.shown,
                "reason": row.reason,
                "freshness": fresh.state,
                "cutoff_age_days": fresh.age_days,
                "data_cutoff": current.isoformat() if current else None,
                "fit": json.loads(row.result_json),
            }
        )
        return
    out.print(f"Fit {row.id}, stored {moment_label(row.created_at)}.")
    _print_fit(row)
    if not row.reliable:
        out.print(f"Not shown to reps: {row.reason}.")
    elif fresh.state == "current":
        out.print(
            f"Shown to reps: chance of an order in the next 90 days for {row.accounts:,} "
            f"accounts (data through {day_label(row.cutoff)})."
        )
    for line in _staleness_lines(fresh, row.reliable):
        err.print(line)


def _staleness_lines(fresh, reliable: bool) -> list[str]:
    """`rebuy model show`'s warnings when the stored fit is not current."""
    from bot.retention.rebuy_model.store import EXPIRED_DAYS, FRESH_DAYS

    lines = []
    age = f"{fresh.age_days} days old" if fresh.age_days != 1 else "1 day old"
    if reliable and fresh.state == "expired":
        lines.append(
            f"Warning: the fit's data cut-off ({day_label(fresh.fit_cutoff)}) is {age}, more than "
            f"{EXPIRED_DAYS}: reps see no chance of an order until newer orders are loaded."
        )
    elif reliable and fresh.state == "dated":
        lines.append(
            f'Warning: reps see the chance "as of {fresh.fit_cutoff.day} {fresh.fit_cutoff:%b}" '
            f"(data cut-off {day_label(fresh.fit_cutoff)}, {age}; current up to {FRESH_DAYS} days)."
        )
    if fresh.newer_data is not None:
        lines.append(
            f"The data is now complete through {day_label(fresh.newer_data)}: `rebuy serve` refits "
            "within the hour, or run `rebuy model fit` now."
        )
    return lines


@model_app.command("backtest")
def model_backtest(
    calibration_end: Annotated[
        str, typer.Option("--calibration-end", help="Fit on orders up to this day (YYYY-MM-DD).")
    ],
    horizon_weeks: Annotated[
        float, typer.Option("--horizon-weeks", help="Weeks after it to compare with.")
    ] = 39,
    cutoff: Cutoff = None,
    as_json: AsJson = False,
) -> None:
    """Fit on the past and compare the predictions with what happened next."""
    from bot.retention.rebuy_model.backtest import format_table
    from bot.retention.rebuy_model.fit_job import backtest_workspace

    end = _day_option("--calibration-end", calibration_end)
    runtime = _runtime()
    with runtime.db.session() as session:
        result = backtest_workspace(
            session=session,
            calibration_end=end,
            horizon_weeks=horizon_weeks,
            data_cutoff=_data_cutoff(runtime, session, cutoff),
        )
    if as_json:
        _print_json(result.to_dict())
    else:
        out.print(format_table(result))


# --- entry point ------------------------------------------------------------------------


def main() -> None:
    """Console entry point: friendly errors, never a traceback (REBUY_DEBUG=1 for one)."""
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    debug = os.environ.get("REBUY_DEBUG") == "1"
    try:
        app()
    except ImportRowError as error:
        err.print(error.message)
        sys.exit(1)
    except RebuyError as error:
        err.print(error.message)
        sys.exit(1)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in error.errors()
        )
        err.print(f"Configuration problem: {problems}")
        sys.exit(2)
    except SettingsError as error:
        # pydantic-settings could not even parse a value (e.g. JSON that isn't).
        found = re.search(r'field "(\w+)"', str(error))
        name = found.group(1).upper() if found else "a setting"
        err.print(f"Configuration problem: {name} could not be read ({error}).")
        sys.exit(2)
    except OperationalError as error:
        if debug:
            raise
        err.print(f"Cannot use the database: {str(error.orig).strip()}. Check DATABASE_URL.")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:
        if debug:
            raise
        err.print(f"Something went wrong: {type(error).__name__}: {error}")
        err.print("Run again with REBUY_DEBUG=1 to see the details.")
        sys.exit(2)
