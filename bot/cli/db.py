"""`rebuy db …`: the database schema (Alembic migrations) and the purchase summary."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import out, writer_runtime

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (`rebuy serve` and the commands that write run them
    too)."""
    from bot.runtime import build_runtime

    runtime = build_runtime(migrate=False)
    before = runtime.db.current_revision()
    runtime.db.upgrade()
    after = runtime.db.current_revision()
    out.print(
        f"Database at revision {after}"
        + (" (unchanged)" if before == after else f" (was {before or 'empty'})")
    )


@db_app.command("revision")
def db_revision(
    message: Annotated[str, typer.Option("-m", "--message", help="What the change does.")],
) -> None:
    """For developers: write a new migration from the difference between models and DB."""
    from alembic import command

    from bot.db import alembic_config

    runtime = writer_runtime()
    config = alembic_config(runtime.settings.database_url)
    command.revision(config, message=message, autogenerate=True)


@db_app.command("rebuild-summary")
def db_rebuild_summary() -> None:
    """Recompute every account's purchase summary from its orders (normally kept up to
    date by every write; for after a restore or a manual edit of orders)."""
    from sqlalchemy import func, select

    from bot.retention.summary import SUMMARY, refresh_summary

    runtime = writer_runtime()
    with runtime.db.transaction() as session:
        refresh_summary(session.connection(), None, today=runtime.today())
        rows = session.execute(select(func.count()).select_from(SUMMARY)).scalar_one()
    out.print(f"Summary rebuilt: {rows:,} accounts with orders.")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision the database is at."""
    from bot.runtime import build_runtime

    runtime = build_runtime(migrate=False)
    out.print(runtime.db.current_revision() or "empty (run `rebuy db upgrade`)")
