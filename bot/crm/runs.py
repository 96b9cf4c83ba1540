"""What each sync run did: its result, the stored runs and cursors, `rebuy sync status`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlmodel import Session, select

from bot.crm.base import Cursor
from bot.retention.dates import moment_label
from models import SyncCursor, SyncRun, SyncStatus

BUSY: Literal["busy"] = "busy"


@dataclass
class SyncResult:
    """What one sync of one source did (or, in a dry run, would do)."""

    source: str
    run_id: int | None = None
    # How the run ended, or BUSY: another run held the source's lease, nothing was done.
    status: SyncStatus | Literal["busy"] = SyncStatus.RUNNING
    dry_run: bool = False
    records: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    archived: int = 0
    removed: int = 0
    linked: int = 0
    skipped: int = 0
    planned: int = 0  # activities dated in the future, held until their time
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
        if self.status == BUSY:
            return f"{self.source}: {self.errors[0]}"
        if self.status == SyncStatus.FAILED and self.run_id is None and not self.dry_run:
            return f"{self.source}: not synced"  # could not even start (the reason follows)
        planned_text = f", {self.planned:,} planned for later" if self.planned else ""
        text = (
            f"{self.source}: {self.records:,} records read in {self.duration_s:.1f} s — "
            f"{self.created:,} new, {self.updated:,} updated, {self.unchanged:,} unchanged, "
            f"{self.archived:,} accounts archived, {self.removed:,} removed, "
            f"{self.linked:,} written by Rebuy, {self.skipped:,} skipped{planned_text}"
        )
        if self.dry_run:
            return text + " (dry run: nothing written)"
        return f"{text}; {self.status}"


def latest_through(session: Session, source: str | None = None) -> datetime | None:
    """The newest time up to which a finished sync took everything: the data cut-off."""
    query = select(SyncRun.through).where(
        SyncRun.status == SyncStatus.OK, SyncRun.through.is_not(None)
    )
    if source is not None:
        query = query.where(SyncRun.source == source)
    return session.exec(query.order_by(SyncRun.through.desc()).limit(1)).first()


def stored_cursors(session: Session, source: str) -> dict[str, Cursor]:
    rows = session.exec(select(SyncCursor).where(SyncCursor.source == source)).all()
    return {row.stream: Cursor.from_text(row.cursor) for row in rows}


def last_runs(session: Session, limit: int = 10) -> list[SyncRun]:
    return list(session.exec(select(SyncRun).order_by(SyncRun.id.desc()).limit(limit)).all())


def cursor_json(cursors: dict[str, Cursor]) -> str:
    return json.dumps({stream: c.to_text() for stream, c in sorted(cursors.items())})


def describe_runs(runs: Iterable[SyncRun]) -> list[str]:
    """`rebuy sync status`: one line per run, newest first, and its first problems."""
    lines: list[str] = []
    for run in runs:
        took = f"{run.duration_s:.1f} s" if run.duration_s is not None else "—"
        through = f", through {moment_label(run.through)}" if run.through else ""
        later = f", {run.planned:,} planned for later" if run.planned else ""
        lines.append(
            f"#{run.id} {run.source} {moment_label(run.started_at)} {run.status} ({took}"
            f"{through}): {run.records:,} read, {run.created:,} new, {run.updated:,} updated, "
            f"{run.archived:,} archived, {run.removed:,} removed, {run.linked:,} linked, "
            f"{run.skipped:,} skipped{later}"
        )
        if run.errors:
            problems = run.errors.split("\n")
            lines.extend(f"    {line}" for line in problems[:3])
            if len(problems) > 3:
                lines.append(f"    …and {len(problems) - 3:,} more")
    return lines
