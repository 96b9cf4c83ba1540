"""`rebuy report`: the recency report, tactic win rates and accounts nobody owns.

The report is read by `bot.retention.report_command` through the DB-API, so this command
loads neither SQLAlchemy, SQLModel nor Alembic (unless a stored forecast needs them).
The lean path (bot/cli/lean.py) runs the same body without Typer or pydantic-settings."""

from __future__ import annotations

import typer

from bot.cli.common import AsJson, AsOf


def report(as_json: AsJson = False, as_of: AsOf = None) -> None:
    """The recency report: who stopped buying, who buys less, when the best last bought."""
    from bot.cli.readers import show_report
    from bot.settings import Settings

    settings = Settings()
    code = show_report(settings.database_url, settings.rebuy_now, as_json=as_json, as_of=as_of)
    if code:
        raise typer.Exit(code)
