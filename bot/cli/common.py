"""What every `rebuy` command shares: the consoles, common options, the runtime.

Only the standard library, typer, rich and the domain's errors are imported here, so
`rebuy --help` and every command's start pay for nothing else. Each command imports
what it uses inside itself.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from bot.retention.errors import InvalidInput

if TYPE_CHECKING:
    from bot.runtime import Runtime

# Markup and emoji codes off: account names, file names and CSV cells are printed as
# they are ("[/bold]" or ":fire:" in a CRM export is text, not formatting).
out = Console(highlight=False, soft_wrap=True, markup=False, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)

AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="Compute as of this day (YYYY-MM-DD) instead of today."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


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


def day_option(option: str, value: str | None) -> date | None:
    """An optional YYYY-MM-DD option's day (None when not given)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{option}: “{value}” is not a date; use YYYY-MM-DD.") from None


def day_arg(text: str, what: str) -> date:
    """A required YYYY-MM-DD argument's day."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{what} “{text}” is not a date: use YYYY-MM-DD.") from None


def now_for(runtime: Runtime, as_of: date | None) -> datetime:
    """`--as-of` replays a past day: "now" becomes the end of that day."""
    if as_of is None:
        return runtime.now()
    return datetime.combine(as_of, time(23, 59, 59), tzinfo=UTC)


def print_json(payload: dict) -> None:
    out.print_json(json.dumps(payload, default=str), highlight=False)
