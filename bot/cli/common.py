"""What every `rebuy` command shares: the consoles, common options, the runtime.

Only the standard library, typer, rich and the domain's errors are imported here, so
`rebuy --help` and every command's start pay for nothing else. Each command imports
what it uses inside itself.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer
from rich.console import Console

from bot.cli.runtimes import now_for, reader_runtime, writer_runtime
from bot.retention.errors import InvalidInput

__all__ = ["now_for", "reader_runtime", "writer_runtime"]  # their home: bot.cli.runtimes

# Markup and emoji codes off: account names, file names and CSV cells are printed as
# they are ("[/bold]" or ":fire:" in a CRM export is text, not formatting).
out = Console(highlight=False, soft_wrap=True, markup=False, emoji=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False, emoji=False)

AsOf = Annotated[
    str | None,
    typer.Option("--as-of", help="Compute as of this day (YYYY-MM-DD) instead of today."),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


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


def print_json(payload: dict) -> None:
    out.print_json(json.dumps(payload, default=str), highlight=False)
