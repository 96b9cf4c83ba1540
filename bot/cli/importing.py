"""`rebuy import KIND FILE`: load a CSV export, all or nothing unless --skip-bad."""

from __future__ import annotations

from datetime import UTC, date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import day_option, err, out, reader_runtime, writer_runtime
from bot.retention.dates import day_label
from bot.retention.errors import ImportRowError, InvalidInput

if TYPE_CHECKING:
    from bot.retention.importer import ImportOptions
    from bot.runtime import Runtime


def progress_bar(*args, **kwargs):
    """The progress bar class's constructor (rich's `Progress`; tests record it here)."""
    from rich.progress import Progress

    return Progress(*args, **kwargs)


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
    from bot.retention.importer import import_kind

    kind = import_kind(kind)
    through_day = day_option("--through", through)
    if through_day is not None and kind != "orders":
        raise InvalidInput("--through: only an orders import has a through-date.")
    _check_file(file)
    options = _import_options(
        column_map=column_map or [],
        mapping=mapping,
        vendor=vendor,
        date_format=date_format,
        locale=locale,
        delimiter=delimiter,
        encoding=encoding,
    )
    # A dry run changes nothing, the schema included: an old database is named instead.
    runtime = reader_runtime() if dry_run else writer_runtime()
    if through_day is not None and through_day > runtime.now().astimezone(UTC).date():
        # The latest through-date is the model's data cut-off, which never moves back.
        raise InvalidInput(f"--through: {day_label(through_day)} is in the future.")
    result = _run_import(
        runtime,
        kind=kind,
        file=file,
        options=options,
        dry_run=dry_run,
        skip_bad=skip_bad,
        through=through_day,
        errors_file=errors_file,
    )
    _print_result(result, file=file, dry_run=dry_run, errors_file=errors_file)
    if kind == "orders" and not dry_run:
        fit_after_import(runtime)
        from bot.retention.rfm import warm_cutoffs_after_writing

        warm_cutoffs_after_writing(runtime.db, now=runtime.now())


def _check_file(file: Path) -> None:
    if file.is_dir():
        raise InvalidInput(f"{file}: is a folder, not a CSV file.")
    if not file.is_file():
        raise InvalidInput(f"{file}: no such file.")


def _import_options(
    *,
    column_map: list[str],
    mapping: Path | None,
    vendor: str | None,
    date_format: str | None,
    locale: str | None,
    delimiter: str | None,
    encoding: str | None,
) -> ImportOptions:
    """The options an import reads its file with, each checked before any work."""
    from bot.retention.importer import VENDORS, ImportOptions
    from bot.retention.importer.values import check_locale

    if vendor is not None and vendor.lower() not in VENDORS:
        raise InvalidInput(f"--from: “{vendor}” is not one of {', '.join(VENDORS)}.")
    columns = _read_mapping(mapping) if mapping else {}
    columns.update(_parse_map(column_map))
    return ImportOptions(
        columns=columns,
        vendor=vendor.lower() if vendor else None,
        date_format=date_format,
        locale=check_locale(locale),
        delimiter=delimiter,
        encoding=encoding,
    )


def _run_import(
    runtime: Runtime,
    *,
    kind: str,
    file: Path,
    options: ImportOptions,
    dry_run: bool,
    skip_bad: bool,
    through: date | None,
    errors_file: Path | None,
):
    """The import in one transaction (rolled back for --dry-run), with a progress bar."""
    from bot.retention.importer import import_csv
    from bot.terminal import import_progress

    total = count_lines(file)
    try:
        with (
            import_progress(err, kind, total, progress_bar) as progress,
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
                through=through,
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
    return result


def _print_result(result, *, file: Path, dry_run: bool, errors_file: Path | None) -> None:
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


def count_lines(path: Path) -> int:
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


def fit_after_import(runtime: Runtime) -> None:
    """One line about the re-buy model's fit to the new data cut-off; a failed fit is
    reported but never fails the import (it is committed already)."""
    from bot.retention.rebuy_model.fit_job import fit_after_import as fit

    run = fit(
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
