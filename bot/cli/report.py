"""`rebuy report`: the recency report, tactic win rates and accounts nobody owns.

The body is `bot.retention.report_command`: it reads through the DB-API, so this command
loads neither SQLAlchemy, SQLModel nor Alembic (unless a stored forecast needs them)."""

from __future__ import annotations

import typer

from bot.cli.common import AsJson, AsOf


def report(as_json: AsJson = False, as_of: AsOf = None) -> None:
    """The recency report: who stopped buying, who buys less, when the best last bought."""
    from bot.clock import clock_from
    from bot.retention.report_command import report_command
    from bot.settings import Settings

    settings = Settings()
    code = report_command(
        database_url=settings.database_url,
        now=clock_from(settings.rebuy_now)(),
        as_json=as_json,
        as_of=as_of,
    )
    if code:
        raise typer.Exit(code)
