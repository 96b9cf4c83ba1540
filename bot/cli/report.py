"""`rebuy report`: the recency report, tactic win rates and accounts nobody owns.

The report is read by `bot.retention.report_command` through the DB-API, so this command
loads neither SQLAlchemy, SQLModel nor Alembic (unless a stored forecast needs them)."""

from __future__ import annotations

import json
import sys

import typer

from bot.cli.common import AsJson, AsOf
from bot.retention.errors import InvalidInput


def report(as_json: AsJson = False, as_of: AsOf = None) -> None:
    """The recency report: who stopped buying, who buys less, when the best last bought."""
    from bot.clock import clock_from
    from bot.retention.report_command import read_report
    from bot.settings import Settings

    settings = Settings()
    try:
        result = read_report(
            settings.database_url, now=clock_from(settings.rebuy_now)(), as_of=as_of
        )
    except InvalidInput as error:
        if not as_json:
            raise
        _print_json({"error": error.message})
        raise typer.Exit(1) from None
    if as_json:
        _print_json(result.to_dict())
    else:
        _print_text(result)


def _print_json(payload: dict) -> None:
    # Two-space indent, non-ASCII kept (as rich's print_json wrote it).
    sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False, default=str) + "\n")


def _print_text(result) -> None:
    from rich.console import Console
    from rich.table import Table

    from bot.terminal import report_view

    out = Console(highlight=False, soft_wrap=True, markup=False, emoji=False)
    out.print(report_view(result))
    rows = result.extra["tactic_win_rates"]
    if not rows:
        out.print(
            "\nTactics that bring rebuys: no results yet. A touch logged from a reminder "
            "counts once its account re-orders, or after 60 days without one."
        )
    else:
        table = Table(title="Tactics that bring rebuys (re-order within 60 days of the touch)")
        table.add_column("Tactic")
        table.add_column("Touches", justify="right")
        table.add_column("Re-bought", justify="right")
        table.add_column("Win rate", justify="right")
        for row in rows:
            table.add_row(
                row["title"], str(row["touches"]), str(row["wins"]), f"{row['win_rate']:.0%}"
            )
        out.print(table)
    unowned = result.extra.get("accounts_without_owner") or {}
    if unowned.get("count"):
        from bot.retention.report_result import Unowned

        out.print("\n" + Unowned(count=unowned["count"], names=unowned["first"]).sentence())
