"""The runtime a command builds, without Typer or Rich (the lean path uses it too)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.runtime import Runtime


def writer_runtime(**overrides) -> Runtime:
    """The runtime for a command that writes: the database migrated to head first."""
    from bot.runtime import build_runtime
    from bot.settings import Settings

    return build_runtime(Settings(**overrides) if overrides else None)


def reader_runtime() -> Runtime:
    """The runtime for a command that only reads: the schema is checked by one query,
    never migrated (an empty database is still created). An out-of-date database stops
    the command with a sentence telling the admin to run `rebuy db upgrade`."""
    from bot.runtime import build_runtime

    runtime = build_runtime(migrate=False)
    runtime.db.require_schema()
    return runtime


def now_for(runtime: Runtime, as_of: date | None) -> datetime:
    """`--as-of` replays a past day: "now" becomes the end of that day."""
    if as_of is None:
        return runtime.now()
    return datetime.combine(as_of, time(23, 59, 59), tzinfo=UTC)
