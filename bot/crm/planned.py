"""Activities the CRM dates in the future: held until their time, then imported as touches.

A meeting booked in the CRM for next week is not a touch yet: counting it would call
the account "last touched in 5 days" and stop it being due while nothing has happened.
The sync's cursor follows the CRM's modification time, so the meeting is read once,
now, and may never change again; dropping it would lose it for good. So it is held in
`sync_planned` and the first sync after its time imports it like any activity. A newer
version from the CRM replaces it (rescheduled), a removal or cancellation drops it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from bot.crm.base import Row, TouchRow

_IDS_PER_QUERY = 500


def hold_future(
    session: Session, source: str, rows: Sequence[Row], now: datetime
) -> tuple[list[Row], int]:
    """Rows dated after `now` go to sync_planned; returns the others and how many were held.

    A row that is no longer in the future (rescheduled to an earlier day, or due now)
    replaces nothing and takes its held copy away.
    """
    from models import SyncPlanned

    table = SyncPlanned.__table__
    kept: list[Row] = []
    future: dict[str, TouchRow] = {}
    for row in rows:
        if isinstance(row, TouchRow) and row.external_id and row.touched_at > now:
            future[row.external_id] = row
        else:
            kept.append(row)
    past = [r.external_id for r in kept if isinstance(r, TouchRow) and r.external_id]
    if future or _any_held(session, source):  # most syncs hold nothing: skip the deletes
        forget(session, source, [*past, *future])
    if future:
        # An activity already imported and then moved to a later day has not happened
        # yet: its touch goes until the new day comes (it is held like any other).
        from models import Touch

        keys = [f"import:{key}" for key in future]
        for start in range(0, len(keys), _IDS_PER_QUERY):
            part = keys[start : start + _IDS_PER_QUERY]
            session.execute(sa.delete(Touch).where(Touch.dedupe_key.in_(part)))
        session.execute(
            sa.insert(table),
            [
                {
                    "source": source,
                    "touch_key": key,
                    "due_at": row.touched_at,
                    "row_json": _dump(row),
                    "updated_at": now,
                }
                for key, row in future.items()
            ],
        )
    return kept, len(future)


def forget(session: Session, source: str, keys: Iterable[str]) -> int:
    """Drop held activities by key (imported, rescheduled, deleted or cancelled)."""
    from models import SyncPlanned

    table = SyncPlanned.__table__
    wanted = sorted(set(keys))
    dropped = 0
    for start in range(0, len(wanted), _IDS_PER_QUERY):
        part = wanted[start : start + _IDS_PER_QUERY]
        done = session.execute(
            sa.delete(table).where(table.c.source == source, table.c.touch_key.in_(part))
        )
        dropped += done.rowcount or 0
    return dropped


def _any_held(session: Session, source: str) -> bool:
    from models import SyncPlanned

    table = SyncPlanned.__table__
    query = sa.select(table.c.id).where(table.c.source == source).limit(1)
    return session.execute(query).first() is not None


def due(session: Session, source: str, now: datetime) -> list[TouchRow]:
    """Held activities whose time has come, oldest first (they are imported, then forgotten)."""
    from models import SyncPlanned

    table = SyncPlanned.__table__
    rows = session.execute(
        sa.select(table.c.row_json)
        .where(table.c.source == source, table.c.due_at <= now)
        .order_by(table.c.due_at, table.c.id)
    ).scalars()
    return [_load(text) for text in rows]


def _dump(row: TouchRow) -> str:
    data = asdict(row)
    data["touched_at"] = row.touched_at.isoformat()
    return json.dumps(data, sort_keys=True)


def _load(text: str) -> TouchRow:
    data = json.loads(text)
    data["touched_at"] = datetime.fromisoformat(data["touched_at"])
    return TouchRow(**data)
