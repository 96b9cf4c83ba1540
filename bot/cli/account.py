"""`rebuy account NAME`: one account's status card."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import AsJson, AsOf


def account(
    name: Annotated[list[str], typer.Argument(help="Account name (forgiving) or CRM id.")],
    as_json: AsJson = False,
    as_of: AsOf = None,
) -> None:
    """Show one account's status card: health, orders, touches, tactics."""
    from bot.cli.readers import show_account

    code = show_account(name, as_json=as_json, as_of=as_of)
    if code:
        raise typer.Exit(code)
