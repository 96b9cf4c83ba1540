"""`rebuy sync` and the scheduled sync: write-back first, then each configured source.

The outbox is drained before the pull so the activities Rebuy just wrote come back
with their key and are linked, not imported a second time. Each source is isolated:
one CRM failing never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from bot.crm.base import SourceError
from bot.crm.config import build_source, build_writer, configured_sources
from bot.crm.lease import Holder
from bot.crm.outbox import OutboxResult, drain_outbox
from bot.crm.runs import BUSY
from bot.crm.sync import Progress, SyncResult, run_sync
from bot.retention.errors import RebuyError
from bot.runtime import Runtime
from models import SyncStatus

log = logging.getLogger(__name__)
SYNC_JOB_ID = "crm-sync"
CLI_LABEL = "`rebuy sync`"
JOB_LABEL = "the scheduled sync of `rebuy serve`"


def write_back(runtime: Runtime, names: Sequence[str]) -> OutboxResult:
    writers = {}
    refused: dict[str, str] = {}
    for name in names:
        try:
            writer = build_writer(runtime.settings, name)
        except SourceError as error:  # e.g. a refused Salesforce login: the others go on
            refused[name] = error.message
            continue
        if writer is not None:
            writers[name] = writer
    result = drain_outbox(db=runtime.db, writers=writers, clock=runtime.clock)
    result.auth_failed.update(refused)
    return result


def sync_sources(
    runtime: Runtime,
    names: Sequence[str],
    *,
    full: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    on_result: Callable[[SyncResult], None] | None = None,
    label: str = CLI_LABEL,
) -> list[SyncResult]:
    """Each source in turn; one that another run is syncing ends "busy" (nothing done)."""
    results = []
    holder = Holder.this_process(label)
    for name in names:
        try:
            source = build_source(runtime.settings, name)
        except SourceError as error:  # a source that cannot be reached never stops the others
            result = SyncResult(source=name, status=SyncStatus.FAILED, dry_run=dry_run)
            result.errors.append(error.message)
            results.append(result)
            if on_result is not None:
                on_result(result)
            continue
        result = run_sync(
            db=runtime.db,
            source=source,
            clock=runtime.clock,
            tiers=runtime.settings.tiers,
            full=full,
            dry_run=dry_run,
            progress=progress,
            chunk_records=runtime.settings.sync_chunk_records,
            holder=holder,
        )
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def sync_all(runtime: Runtime) -> list[SyncResult]:
    """The scheduled job (every SYNC_INTERVAL_MINUTES): write-back, then every source."""
    names = configured_sources(runtime.settings)
    if not names:
        return []
    try:
        outbox = write_back(runtime, names)
        log.info("%s", outbox.summary())
    except RebuyError as error:
        log.warning("CRM write-back: %s", error.message)
    results = []
    for name in names:
        try:
            results.extend(sync_sources(runtime, [name], label=JOB_LABEL))
        except RebuyError as error:
            log.warning("CRM sync of %s: %s", name, error.message)
    for result in results:
        if result.status == BUSY:  # a hand-run sync is at it: skip this round
            log.info("skipped: %s", result.summary())
        else:
            log.info("%s", result.summary())
    return results
