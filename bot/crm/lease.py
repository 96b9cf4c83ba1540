"""One sync of a source at a time: a lease row per source, renewed with every chunk.

Two `rebuy sync hubspot` at once, or the scheduled job and a hand-run sync, would
interleave their chunks and fight over the cursor. The first takes the source's row in
`sync_lease`; the second sees who holds it and stops (the CLI exits 1, the job skips).

The lease works the same on SQLite and PostgreSQL (an insert that the primary key lets
only one writer win, and a conditional update to take over an expired one), and it can
never block for ever: it expires `LEASE_TTL` after the holder last renewed it, and a
holder on this host whose process is gone (kill -9, a crash) is taken over at once.
Times are the wall clock, not Rebuy's clock (which `REBUY_NOW` may freeze).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.db import Database
from bot.retention.errors import RebuyError
from models import SyncLease

LEASE_TTL = timedelta(minutes=15)
_TABLE = SyncLease.__table__
WallClock = Callable[[], datetime]


def wall_clock() -> datetime:
    return datetime.now(UTC)


class SyncBusy(RebuyError):
    """Another run holds the source's lease; the message says who and since when."""


@dataclass(frozen=True)
class Holder:
    """Who is asking: a description people can act on, and the process behind it."""

    label: str  # "`rebuy sync`" or "the scheduled sync in `rebuy serve`"
    host: str
    pid: int

    @classmethod
    def this_process(cls, label: str) -> Holder:
        host, pid = socket.gethostname()[:100], os.getpid()
        return cls(f"{label} (pid {pid} on {host})"[:200], host, pid)


def acquire(
    db: Database, source: str, holder: Holder, *, now: datetime, ttl: timedelta = LEASE_TTL
) -> None:
    """Take the lease of `source`, or raise SyncBusy naming the run that holds it."""
    values = {
        "source": source,
        "holder": holder.label,
        "host": holder.host,
        "pid": holder.pid,
        "run_id": None,
        "started_at": now,
        "expires_at": now + ttl,
    }
    for _ in range(3):
        with db.transaction() as session:
            current = session.execute(sa.select(_TABLE).where(_TABLE.c.source == source)).first()
            if current is None:
                try:
                    with session.begin_nested():
                        session.execute(sa.insert(_TABLE).values(values))
                except IntegrityError:
                    continue  # another run inserted it first: look again
                return
            if not _free(current, now):
                raise SyncBusy(_busy_message(source, current, now))
            taken = session.execute(
                sa.update(_TABLE)
                .where(
                    _TABLE.c.source == source,
                    _TABLE.c.holder == current.holder,
                    _TABLE.c.pid == current.pid,
                    _TABLE.c.expires_at == current.expires_at,
                )
                .values(values)
            )
            if taken.rowcount == 1:
                return
    raise SyncBusy(f"Another sync of {source} is starting right now; try again in a minute.")


def renew(
    session: sa.orm.Session,
    source: str,
    holder: Holder,
    *,
    now: datetime,
    run_id: int | None = None,
    ttl: timedelta = LEASE_TTL,
) -> None:
    """Push the lease on (in the chunk's transaction); raise SyncBusy if it was lost."""
    values: dict[str, object] = {"expires_at": now + ttl}
    if run_id is not None:
        values["run_id"] = run_id
    done = session.execute(
        sa.update(_TABLE)
        .where(_TABLE.c.source == source, _TABLE.c.host == holder.host, _TABLE.c.pid == holder.pid)
        .values(values)
    )
    if done.rowcount != 1:
        raise SyncBusy(
            f"This sync of {source} lost its lease (it was silent for over "
            f"{_minutes(ttl)} and another run took over); its stored chunks stand."
        )


def release(db: Database, source: str, holder: Holder) -> None:
    with db.transaction() as session:
        session.execute(
            sa.delete(_TABLE).where(
                _TABLE.c.source == source, _TABLE.c.host == holder.host, _TABLE.c.pid == holder.pid
            )
        )


def _free(current: sa.Row, now: datetime) -> bool:
    """Expired, or held by a process of this host that no longer exists."""
    if _aware(current.expires_at) <= now:
        return True
    return current.host == socket.gethostname()[:100] and not _alive(current.pid)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


def _busy_message(source: str, current: sa.Row, now: datetime) -> str:
    ago = _ago(now - _aware(current.started_at))
    return (
        f"A sync of {source} is already running (started {ago} by {current.holder}). "
        "This one did nothing; run it again once that one has finished "
        "(`rebuy sync status` shows it)."
    )


def _ago(delta: timedelta) -> str:
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return "just now" if seconds < 5 else f"{seconds} s ago"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min ago"
    return f"{minutes // 60} h ago"


def _minutes(delta: timedelta) -> str:
    return f"{int(delta.total_seconds() // 60)} min"


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
