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

import csv
import io
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.crm.base import (
    Batch,
    Cursor,
    Removed,
    Row,
    Source,
    SourceError,
    TouchRow,
    base_kind,
    import_row,
    is_removed_stream,
    removed_kind,
)
from bot.db import Database
from bot.retention.importer import record_order_feed
from bot.retention.importer.accounts import plan_accounts
from bot.retention.importer.contacts import plan_contacts
from bot.retention.importer.formats import FORMATS, FileFormat, ImportOptions
from bot.retention.importer.orders import plan_orders
from bot.retention.importer.reading import CsvRows
from bot.retention.importer.touches import plan_touches
from bot.retention.summary import refresh_summary
from models import Account, CrmOutbox, Order, SyncCursor, SyncRun, Touch

# Records planned and written per transaction: large enough that the planners' look-ups
# of stored rows are paid rarely, small enough that a kill loses little work.
CHUNK_RECORDS = 5_000
ERRORS_KEPT = 200
_PLANNERS = {
    "accounts": plan_accounts,
    "contacts": plan_contacts,
    "orders": plan_orders,
    "touches": plan_touches,
}
_IDS_PER_QUERY = 500
# HubSpot reports removed activities by id without their object type.
_ACTIVITY_TYPES = ("calls", "emails", "meetings", "notes", "tasks", "Task", "Event")
Clock = Callable[[], datetime]
Progress = Callable[[str, int], None]


@dataclass
class SyncResult:
    """What one sync of one source did (or, in a dry run, would do)."""

    source: str
    run_id: int | None = None
    status: str = "running"
    dry_run: bool = False
    records: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0
    removed: int = 0
    linked: int = 0
    skipped: int = 0
    bad: int = 0  # rows the importer's checks refused (also in `skipped`)
    errors: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    through: datetime | None = None
    per_stream: dict[str, int] = field(default_factory=dict)

    @property
    def moved(self) -> int:
        """Rows that changed Rebuy's data: new, updated, archived or removed."""
        return self.created + self.updated + self.archived + self.removed

    def summary(self) -> str:
        text = (
            f"{self.source}: {self.records:,} records read in {self.duration_s:.1f} s — "
            f"{self.created:,} new, {self.updated:,} updated, {self.unchanged:,} unchanged, "
            f"{self.archived:,} accounts archived, {self.removed:,} removed, "
            f"{self.linked:,} written by Rebuy, {self.skipped:,} skipped"
        )
        if self.dry_run:
            return text + " (dry run: nothing written)"
        return f"{text}; {self.status}"


def latest_through(session: Session, source: str | None = None) -> datetime | None:
    """The newest time up to which a finished sync took everything: the data cut-off."""
    query = select(SyncRun.through).where(SyncRun.status == "ok", SyncRun.through.is_not(None))
    if source is not None:
        query = query.where(SyncRun.source == source)
    return session.exec(query.order_by(SyncRun.through.desc()).limit(1)).first()


def stored_cursors(session: Session, source: str) -> dict[str, Cursor]:
    rows = session.exec(select(SyncCursor).where(SyncCursor.source == source)).all()
    return {row.stream: Cursor.from_text(row.cursor) for row in rows}


def last_runs(session: Session, limit: int = 10) -> list[SyncRun]:
    return list(session.exec(select(SyncRun).order_by(SyncRun.id.desc()).limit(limit)).all())


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
) -> SyncResult:
    """Pull every stream of `source` from its stored cursor (from the start with `full`).

    Each chunk is written with its cursor in one transaction. A dry run plans and writes
    everything in one transaction and rolls it back: the counts are exact, nothing stays.
    Source failures end the run with status "failed" and the message in `errors`.
    """
    started = clock()
    began = time.perf_counter()
    streams = list(streams or default_streams(source))
    result = SyncResult(source=source.name, dry_run=dry_run)
    if dry_run:
        with db.session() as session:
            before = {} if full else stored_cursors(session, source.name)
            try:
                _pull(session, None, source, streams, before, clock, tiers, result, progress)
                result.status = "partial" if result.bad else "ok"
            except SourceError as error:
                _failed(result, error)
            finally:
                session.rollback()
        result.duration_s = time.perf_counter() - began
        return result

    with db.transaction() as session:
        # A run still "running" was killed (kill -9, a crash): its stored chunks stand.
        session.execute(
            sa.update(SyncRun)
            .where(SyncRun.source == source.name, SyncRun.status == "running")
            .values(status="interrupted")
        )
        before = stored_cursors(session, source.name)
        run = SyncRun(
            source=source.name,
            streams=",".join(streams),
            full=full,
            started_at=started,
            cursor_before=_cursor_json(before),
        )
        session.add(run)
        session.flush()
        result.run_id = run.id
    cursors = {} if full else before
    try:
        _pull(None, db, source, streams, cursors, clock, tiers, result, progress, chunk_records)
        result.status = "partial" if result.bad else "ok"
    except SourceError as error:
        _failed(result, error)
    except BaseException:
        result.status = "failed"
        result.errors.append("The sync stopped unexpectedly; the stored chunks stand.")
        _finish(db, result, started, began, clock)
        raise
    _finish(db, result, started, began, clock)
    return result


def _failed(result: SyncResult, error: SourceError) -> None:
    result.status = "failed"
    result.errors.append(error.message)


def _finish(db: Database, result: SyncResult, started: datetime, began: float, clock: Clock):
    result.duration_s = time.perf_counter() - began
    if result.status in ("ok", "partial"):
        result.through = started
    with db.transaction() as session:
        run = session.get(SyncRun, result.run_id)
        assert run is not None
        run.status = result.status
        run.finished_at = clock()
        run.duration_s = round(result.duration_s, 3)
        run.cursor_after = _cursor_json(stored_cursors(session, result.source))
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


def _cursor_json(cursors: dict[str, Cursor]) -> str:
    return json.dumps({stream: c.to_text() for stream, c in sorted(cursors.items())})


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
) -> None:
    """Either one `session` for everything (dry run) or a transaction of `db` per chunk."""
    for stream in streams:
        pending: list[Batch] = []
        size = read = 0
        for batch in source.pull(stream, cursors.get(stream)):
            pending.append(batch)
            size += len(batch)
            read += len(batch)
            if size >= chunk_records:
                _flush(session, db, source.name, stream, pending, clock, tiers, result)
                pending, size = [], 0
                if progress is not None:
                    progress(stream, read)
        _flush(session, db, source.name, stream, pending, clock, tiers, result)
        result.per_stream[stream] = read
        if progress is not None:
            progress(stream, read)


def _flush(
    session: Session | None,
    db: Database | None,
    source: str,
    stream: str,
    pending: list[Batch],
    clock: Clock,
    tiers: Sequence[str],
    result: SyncResult,
) -> None:
    if not pending:
        return
    if session is not None:
        _apply(session, source, stream, pending, clock(), tiers, result, store=False)
        return
    assert db is not None
    with db.transaction() as chunk_session:
        _apply(chunk_session, source, stream, pending, clock(), tiers, result, store=True)


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
) -> None:
    """Plan and write `batches` of `stream`; with `store`, move the cursor and the run's counts."""
    kind = base_kind(stream)
    rows: list[Row] = [row for batch in batches for row in batch.rows]
    removed = [item for batch in batches for item in batch.removed]
    counts = dict.fromkeys(
        ("records", "created", "updated", "unchanged", "archived", "removed", "linked", "skipped"),
        0,
    )
    counts["records"] = sum(len(batch) for batch in batches)
    errors: list[str] = []
    # Records the source cannot make rows of (an open task, an activity on no company)
    # are counted, not reported: they are not errors.
    counts["skipped"] += sum(len(batch.skipped) for batch in batches)
    if kind == "touches":
        rows = _link_written(session, rows, counts)
    if rows:
        _plan_and_write(session, source, kind, stream, rows, now, tiers, counts, errors)
    if removed:
        _remove(session, kind, removed, now, counts)
    cursor = next((b.cursor for b in reversed(batches) if b.cursor is not None), None)
    if store:
        if cursor is not None:
            _store_cursor(session, source, stream, cursor, now)
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


def _link_written(session: Session, rows: list[Row], counts: dict[str, int]) -> list[Row]:
    """Activities Rebuy wrote (their key is an outbox row's) are linked, not imported."""
    keyed = {row.rebuy_key: row for row in rows if isinstance(row, TouchRow) and row.rebuy_key}
    if not keyed:
        return rows
    known: dict[str, CrmOutbox] = {}
    keys = sorted(keyed)
    for start in range(0, len(keys), _IDS_PER_QUERY):
        part = keys[start : start + _IDS_PER_QUERY]
        for item in session.exec(select(CrmOutbox).where(CrmOutbox.key.in_(part))):
            known[item.key] = item
    kept: list[Row] = []
    for row in rows:
        key = row.rebuy_key if isinstance(row, TouchRow) else None
        item = known.get(key) if key else None
        if item is None:
            kept.append(row)
            continue
        counts["linked"] += 1
        if item.crm_id is None and isinstance(row, TouchRow) and row.external_id:
            item.crm_id = row.external_id.rsplit(":", 1)[-1]
            session.add(item)
    session.flush()
    return kept


def _plan_and_write(
    session: Session,
    source: str,
    kind: str,
    stream: str,
    rows: list[Row],
    now: datetime,
    tiers: Sequence[str],
    counts: dict[str, int],
    errors: list[str],
) -> None:
    """The importer's planner over the rows as the CSV cells it reads; bad rows skipped."""
    cells = [import_row(kind, row) for row in rows]
    # A field the source does not fill (e.g. no cadence property configured) is left
    # out, like a column missing from a file: Rebuy's own value stays.
    required = set(FORMATS[kind].required)
    header = [
        name
        for name in cells[0]
        if name in required or name == "touch_id" or any(cell[name] for cell in cells)
    ]
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows([cell[name] for name in header] for cell in cells)
    text.seek(0)
    found = FileFormat("utf-8", ",", encoding_detected=False, delimiter_detected=False)
    where = Path(f"{source} {stream}")
    csv_rows = CsvRows(where, kind, text, ImportOptions(), found, None)
    plan = _PLANNERS[kind](session, csv_rows, now=now, tiers=tiers)
    for problem in csv_rows.problems:
        index = problem.line - 2  # the header is line 1
        record = _record_id(rows[index]) if 0 <= index < len(rows) else "?"
        column = f" {problem.column}" if problem.column else ""
        errors.append(f"{stream} record {record}:{column} {problem.reason}")
    bad = len({problem.line for problem in csv_rows.problems})
    counts["skipped"] += bad
    counts["bad"] = counts.get("bad", 0) + bad
    counts["skipped"] += plan.left_out.total()
    if plan.created or plan.updated:
        plan.write()
        session.expire_all()
    counts["created"] += plan.created
    counts["updated"] += plan.updated
    counts["unchanged"] += plan.unchanged
    if kind == "accounts":
        _mark_source(session, source, [row.external_id for row in rows])  # type: ignore[union-attr]


def _record_id(row: Row) -> str:
    return str(getattr(row, "external_id", None) or getattr(row, "order_id", None) or "?")


def _mark_source(session: Session, source: str, external_ids: Iterable[str]) -> None:
    """Accounts in the source are fed by it, and live again if the CRM restored them."""
    ids = sorted(set(external_ids))
    table = Account.__table__
    for start in range(0, len(ids), _IDS_PER_QUERY):
        part = ids[start : start + _IDS_PER_QUERY]
        session.execute(
            sa.update(table)
            .where(
                table.c.external_id.in_(part),
                sa.or_(
                    table.c.crm_source.is_distinct_from(source),
                    table.c.archived_at.is_not(None),
                ),
            )
            .values(crm_source=source, archived_at=None, merged_into=None)
        )


def _remove(
    session: Session, kind: str, removed: list[Removed], now: datetime, counts: dict[str, int]
) -> None:
    if kind == "accounts":
        table = Account.__table__
        for item in removed:
            done = session.execute(
                sa.update(table)
                .where(table.c.external_id == item.external_id, table.c.archived_at.is_(None))
                .values(archived_at=item.removed_at or now, merged_into=item.merged_into)
            )
            counts["archived"] += done.rowcount or 0
    elif kind == "orders":
        ids = sorted({item.external_id for item in removed})
        for start in range(0, len(ids), _IDS_PER_QUERY):
            part = ids[start : start + _IDS_PER_QUERY]
            gone = sa.select(Order.account_id).where(Order.order_key.in_(part)).distinct()
            accounts = list(session.execute(gone).scalars())
            done = session.execute(sa.delete(Order).where(Order.order_key.in_(part)))
            counts["removed"] += done.rowcount or 0
            refresh_summary(session.connection(), accounts, today=now.astimezone(UTC).date())
    elif kind == "touches":
        keys = sorted(
            {
                key
                for item in removed
                for key in [f"import:{item.external_id}"]
                + [f"import:{t}:{item.external_id}" for t in _ACTIVITY_TYPES]
            }
        )
        for start in range(0, len(keys), _IDS_PER_QUERY):
            part = keys[start : start + _IDS_PER_QUERY]
            done = session.execute(sa.delete(Touch).where(Touch.dedupe_key.in_(part)))
            counts["removed"] += done.rowcount or 0
    # Contacts are matched by e-mail or name, not by CRM id: a removed contact stays.


def _store_cursor(session: Session, source: str, stream: str, cursor: Cursor, now: datetime):
    table = SyncCursor.__table__
    done = session.execute(
        sa.update(table)
        .where(table.c.source == source, table.c.stream == stream)
        .values(cursor=cursor.to_text(), updated_at=now)
    )
    if not done.rowcount:
        session.execute(
            sa.insert(table).values(
                source=source, stream=stream, cursor=cursor.to_text(), updated_at=now
            )
        )


def describe_runs(runs: Iterable[SyncRun]) -> list[str]:
    """`rebuy sync status`: one line per run, newest first, and its first problems."""
    lines: list[str] = []
    for run in runs:
        took = f"{run.duration_s:.1f} s" if run.duration_s is not None else "—"
        through = f", through {run.through:%Y-%m-%d %H:%M} UTC" if run.through else ""
        lines.append(
            f"#{run.id} {run.source} {run.started_at:%Y-%m-%d %H:%M} UTC {run.status} ({took}"
            f"{through}): {run.records:,} read, {run.created:,} new, {run.updated:,} updated, "
            f"{run.archived:,} archived, {run.removed:,} removed, {run.linked:,} linked, "
            f"{run.skipped:,} skipped"
        )
        if run.errors:
            problems = run.errors.split("\n")
            lines.extend(f"    {line}" for line in problems[:3])
            if len(problems) > 3:
                lines.append(f"    …and {len(problems) - 3:,} more")
    return lines
