"""`rebuy sync`: the CRM sync, and `rebuy sync status`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import err, out, reader_runtime, writer_runtime
from bot.cli.importing import fit_after_import
from bot.retention.errors import InvalidInput

if TYPE_CHECKING:
    from bot.runtime import Runtime

NO_SOURCE = (
    "No CRM is configured: set HUBSPOT_TOKEN, SALESFORCE_INSTANCE_URL and "
    "SALESFORCE_TOKEN, or SYNC_SQL_URL and SYNC_SQL_QUERIES (README: Connect your CRM)."
)


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

    if source == "status":
        _print_status()
        return
    runtime = writer_runtime()
    names = [source.strip().lower()] if source else configured_sources(runtime.settings)
    if not names:
        raise InvalidInput(NO_SOURCE)
    if not dry_run:
        _write_back(runtime, names)
    failed = _pull(runtime, names, full=full, dry_run=dry_run)
    if not dry_run:
        from bot.retention.rfm import warm_cutoffs_after_writing

        warm_cutoffs_after_writing(runtime.db, now=runtime.now())  # as after an import
        _refit_if_behind(runtime)
    if failed:
        raise typer.Exit(1)


def _print_status() -> None:
    """`rebuy sync status`: the last runs, read only."""
    from bot.crm.sync import describe_runs, last_runs

    runtime = reader_runtime()
    with runtime.db.session() as session:
        lines = describe_runs(last_runs(session))
    for line in lines or ["No sync has run yet: `rebuy sync`."]:
        out.print(line)


def _write_back(runtime: Runtime, names: list[str]) -> None:
    """Rebuy's touches out to the CRM first (one summary line when anything moved)."""
    from bot.crm.jobs import write_back

    outbox = write_back(runtime, names)
    if outbox.sent or outbox.deleted or outbox.retrying or outbox.failed or outbox.auth_failed:
        out.print(outbox.summary())


def _pull(runtime: Runtime, names: list[str], *, full: bool, dry_run: bool) -> bool:
    """Pull every source, printing each one's result; True when one failed or was busy."""
    from bot.crm.jobs import sync_sources

    failed = False

    def progress(stream: str, read: int) -> None:
        err.print(f"  {stream}: {read:,} records")

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
    return failed


def _refit_if_behind(runtime: Runtime) -> None:
    """After a sync that moved the data cut-off, refit the re-buy model (one line)."""
    from bot.retention.rebuy_model.store import fit_is_behind

    with runtime.db.session() as session:
        behind = fit_is_behind(session=session, configured=runtime.settings.rebuy_data_cutoff)
    if behind:
        fit_after_import(runtime)
