"""A live sync: a source's batches through the importer's planners, each with its cursor.

Each chunk of batches (a few thousand records) is planned by the same planner a CSV
import of that kind uses (same checks, same matching, same counts) and written in ONE
transaction together with the stream's new cursor and the run's counters. A run
killed half-way therefore leaves every stored chunk complete and its cursor exactly at
the last stored record: the next run resumes there and neither loses nor repeats rows.

What else a chunk does:
- accounts it holds are marked as fed by this source (`crm_source`, so touches logged
  in Slack are written back there) and un-archived if the CRM restored them;
- `Removed` accounts (deleted or merged in the CRM) are archived, never dropped:
  `archived_at` and `merged_into` are set, their orders and touches stay;
- removed orders (a deal no longer won, deleted) and removed activities are deleted;
- activities Rebuy wrote itself (`rebuy_key` matches an outbox row) are linked to
  that outbox row and not imported a second time.

Bad rows do not stop a sync: they are skipped, counted and listed on the run
(`rebuy sync status`), like `rebuy import --skip-bad`. A source failure (expired
token, CRM down after every retry) stops the run; what was stored stays stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from bot.crm import planned, writes
from bot.crm.base import (
    Batch,
    Cursor,
    Row,
    Source,
    SourceError,
    base_kind,
    is_removed_stream,
    removed_kind,
)
from bot.crm.lease import Holder, SyncBusy, WallClock, acquire, release, renew, wall_clock
from bot.crm.runs import (
    BUSY,
    SyncResult,
    cursor_json,
    describe_runs,
    last_runs,
    latest_through,
    stored_cursors,
)
from bot.db import Database
from bot.retention.importer import record_order_feed
from models import SyncRun, SyncStatus

__all__ = [
    "SyncResult",
    "describe_runs",
    "last_runs",
    "latest_through",
    "run_sync",
    "stored_cursors",
]

# Records planned and written per transaction: large enough that the planners' look-ups
# of stored rows are paid rarely, small enough that a kill loses little work.
CHUNK_RECORDS = 5_000
ERRORS_KEPT = 200
Clock = Callable[[], datetime]
Progress = Callable[[str, int], None]


def default_streams(source: Source) -> list[str]:
    """Each kind the source has, followed by its removed stream (accounts first)."""
    streams = []
    for stream in source.streams:
        if is_removed_stream(stream):
            continue
        streams.append(stream)
        if removed_kind(stream) in source.streams:
            streams.append(removed_kind(stream))
    return streams


def run_sync(
    *,
    db: Database,
    source: Source,
    clock: Clock,
    tiers: Sequence[str],
    streams: Sequence[str] | None = None,
    full: bool = False,
    dry_run: bool = False,
    progress: Progress | None = None,
    chunk_records: int = CHUNK_RECORDS,
    holder: Holder | None = None,
    wall: WallClock = wall_clock,
) -> SyncResult:
    """Pull every stream of `source` from its stored cursor (from the start with `full`).

    Each chunk is written with its cursor in one transaction. A dry run plans and writes
    everything in one transaction and rolls it back: the counts are exact, nothing stays.
    Source failures end the run with status "failed" and the message in `errors`.
    A real run first takes the source's lease (bot/crm/lease): while another run holds
    it, this one does nothing and ends with status "busy" and who holds it in `errors`.
    """
    began = time.perf_counter()
    streams = list(streams or default_streams(source))
    result = SyncResult(source=source.name, dry_run=dry_run)
    if dry_run:
        with db.session() as session:
            before = {} if full else stored_cursors(session, source.name)
            try:
                _pull(session, None, source, streams, before, clock, tiers, result, progress)
                result.status = SyncStatus.PARTIAL if result.bad else SyncStatus.OK
            except SourceError as error:
                _failed(result, error)
            finally:
                session.rollback()
        result.duration_s = time.perf_counter() - began
        return result

    holder = holder or Holder.this_process("`rebuy sync`")
    try:
        acquire(db, source.name, holder, now=wall())
    except SyncBusy as busy:
        result.status = BUSY
        result.errors.append(busy.message)
        result.duration_s = time.perf_counter() - began
        return result
    lease = _Lease(holder, wall)
    try:
        return _run(db, source, clock, tiers, streams, full, progress, chunk_records, lease, result)
    finally:
        release(db, source.name, holder)


@dataclass(frozen=True)
class _Lease:
    holder: Holder
    wall: WallClock


def _run(
    db: Database,
    source: Source,
    clock: Clock,
    tiers: Sequence[str],
    streams: list[str],
    full: bool,
    progress: Progress | None,
    chunk_records: int,
    lease: _Lease,
    result: SyncResult,
) -> SyncResult:
    started = clock()
    began = time.perf_counter()
    with db.transaction() as session:
        # A run still "running" was killed (kill -9, a crash): its stored chunks stand.
        session.execute(
            sa.update(SyncRun)
            .where(SyncRun.source == source.name, SyncRun.status == SyncStatus.RUNNING)
            .values(status=SyncStatus.INTERRUPTED)
        )
        before = stored_cursors(session, source.name)
        run = SyncRun(
            source=source.name,
            streams=",".join(streams),
            full=full,
            started_at=started,
            cursor_before=cursor_json(before),
        )
        session.add(run)
        session.flush()
        result.run_id = run.id
        renew(session, source.name, lease.holder, now=lease.wall(), run_id=run.id)
    cursors = {} if full else before
    try:
        _pull(
            None, db, source, streams, cursors, clock, tiers, result, progress, chunk_records, lease
        )
        result.status = SyncStatus.PARTIAL if result.bad else SyncStatus.OK
    except SourceError as error:
        _failed(result, error)
    except SyncBusy as error:
        result.status = SyncStatus.FAILED
        result.errors.append(error.message)
    except BaseException:
        result.status = SyncStatus.FAILED
        result.errors.append("The sync stopped unexpectedly; the stored chunks stand.")
        _finish(db, result, started, began, clock)
        raise
    _finish(db, result, started, began, clock)
    return result


def _failed(result: SyncResult, error: SourceError) -> None:
    result.status = SyncStatus.FAILED
    result.errors.append(error.message)


def _finish(db: Database, result: SyncResult, started: datetime, began: float, clock: Clock):
    result.duration_s = time.perf_counter() - began
    if result.status in (SyncStatus.OK, SyncStatus.PARTIAL):
        result.through = started
    with db.transaction() as session:
        run = session.get(SyncRun, result.run_id)
        assert run is not None
        run.status = result.status
        run.finished_at = clock()
        run.duration_s = round(result.duration_s, 3)
        run.cursor_after = cursor_json(stored_cursors(session, result.source))
        run.through = result.through
        if result.through is not None and "orders" in (run.streams or "").split(","):
            # The orders are complete through the sync's start: the re-buy model's
            # data cut-off (bot/retention/rebuy_model) reads it from the order feeds.
            record_order_feed(
                session=session,
                source=result.source,
                through=result.through.date(),
                rows=result.per_stream.get("orders", 0),
                now=clock(),
            )
        if result.errors:
            run.errors = "\n".join(result.errors[:ERRORS_KEPT])


def _pull(
    session: Session | None,
    db: Database | None,
    source: Source,
    streams: list[str],
    cursors: dict[str, Cursor],
    clock: Clock,
    tiers: Sequence[str],
    result: SyncResult,
    progress: Progress | None,
    chunk_records: int = CHUNK_RECORDS,
    lease: _Lease | None = None,
) -> None:
    """Either one `session` for everything (dry run) or a transaction of `db` per chunk."""
    for stream in streams:
        if stream == "touches":
            _import_due(session, db, source.name, clock, tiers, result, lease)
        pending: list[Batch] = []
        size = read = 0
        for batch in source.pull(stream, cursors.get(stream)):
            pending.append(batch)
            size += len(batch)
            read += len(batch)
            if size >= chunk_records:
                _flush(session, db, source.name, stream, pending, clock, tiers, result, lease)
                pending, size = [], 0
                if progress is not None:
                    progress(stream, read)
        _flush(session, db, source.name, stream, pending, clock, tiers, result, lease)
        result.per_stream[stream] = read
        if progress is not None:
            progress(stream, read)


def _import_due(
    session: Session | None,
    db: Database | None,
    source: str,
    clock: Clock,
    tiers: Sequence[str],
    result: SyncResult,
    lease: _Lease | None,
) -> None:
    """Activities held because they were dated in the future, now that their time came."""
    if session is not None:
        rows = planned.due(session, source, clock())
    else:
        assert db is not None
        with db.session() as reading:
            rows = planned.due(reading, source, clock())
    for start in range(0, len(rows), CHUNK_RECORDS):
        batch = Batch("touches", rows=tuple(rows[start : start + CHUNK_RECORDS]))
        _flush(session, db, source, "touches", [batch], clock, tiers, result, lease, due=True)


def _flush(
    session: Session | None,
    db: Database | None,
    source: str,
    stream: str,
    pending: list[Batch],
    clock: Clock,
    tiers: Sequence[str],
    result: SyncResult,
    lease: _Lease | None = None,
    *,
    due: bool = False,
) -> None:
    if not pending:
        return
    if session is not None:
        _apply(session, source, stream, pending, clock(), tiers, result, store=False, due=due)
        return
    assert db is not None
    with db.transaction() as chunk_session:
        if lease is not None:
            renew(chunk_session, source, lease.holder, now=lease.wall())
        _apply(chunk_session, source, stream, pending, clock(), tiers, result, store=True, due=due)


def _apply(
    session: Session,
    source: str,
    stream: str,
    batches: list[Batch],
    now: datetime,
    tiers: Sequence[str],
    result: SyncResult,
    *,
    store: bool,
    due: bool = False,
) -> None:
    """Plan and write `batches` of `stream`; with `store`, move the cursor and the run's counts."""
    kind = base_kind(stream)
    rows: list[Row] = [row for batch in batches for row in batch.rows]
    removed = [item for batch in batches for item in batch.removed]
    counts = dict.fromkeys(
        (
            "records",
            "created",
            "updated",
            "unchanged",
            "archived",
            "removed",
            "linked",
            "skipped",
            "planned",
        ),
        0,
    )
    # Held activities whose time came are not records read from the source.
    counts["records"] = 0 if due else sum(len(batch) for batch in batches)
    errors: list[str] = []
    # Records the source cannot make rows of (an open task, an activity on no company)
    # are counted, not reported: they are not errors.
    counts["skipped"] += sum(len(batch.skipped) for batch in batches)
    for item in (item for batch in batches for item in batch.skipped if item.malformed):
        errors.append(f"{stream} record {item.record_id}: {item.reason}")
        counts["bad"] = counts.get("bad", 0) + 1
    if kind == "touches":
        rows = writes.link_written(session, rows, counts)
        rows, counts["planned"] = planned.hold_future(session, source, rows, now)
    if rows:
        writes.plan_and_write(session, source, kind, stream, rows, now, tiers, counts, errors)
    if removed:
        writes.remove(session, source, kind, removed, now, counts)
    cursor = next((b.cursor for b in reversed(batches) if b.cursor is not None), None)
    if store:
        if cursor is not None:
            writes.store_cursor(session, source, stream, cursor, now)
        values = {
            getattr(SyncRun, name): getattr(SyncRun, name) + count
            for name, count in counts.items()
            if count and name != "bad"
        }
        if errors:
            # Keep the first problems; the count says how many there were.
            kept = session.execute(
                sa.select(SyncRun.errors).where(SyncRun.id == result.run_id)
            ).scalar()
            lines = (kept.split("\n") if kept else []) + errors
            values[SyncRun.errors] = "\n".join(lines[:ERRORS_KEPT])
        if values:
            session.execute(sa.update(SyncRun).where(SyncRun.id == result.run_id).values(values))
    for name, count in counts.items():
        setattr(result, name, getattr(result, name) + count)
    room = ERRORS_KEPT - len(result.errors)
    result.errors.extend(errors[: max(room, 0)])
