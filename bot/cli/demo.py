"""`rebuy demo`: a demo workspace in a SQLite file, and what a rep would see."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.common import out, writer_runtime
from bot.cli.reminders import print_due
from bot.retention.errors import InvalidInput


def demo(
    path: Annotated[
        Path, typer.Option("--db", help="Where to create the demo SQLite database.")
    ] = Path("rebuy-demo.db"),
) -> None:
    """Create a demo workspace (SQLite, no Slack needed) and show what a rep would see."""
    from bot.demo import seed_demo
    from bot.retention.lookup import find_account_id
    from bot.retention.status import account_status
    from bot.terminal import status_card

    if path.exists() and not is_demo_database(path):
        raise InvalidInput(
            f"{path} exists and is not a Rebuy demo database, so I won't overwrite it. "
            "Pick another file with --db, or move it away first."
        )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path.resolve()}"
    runtime = writer_runtime(database_url=url)
    with runtime.db.transaction() as session:
        summary = seed_demo(session=session, now=runtime.now())
    out.print(
        f"Demo workspace created in {path}: {summary.accounts} accounts, {summary.orders:,} "
        f"orders, {summary.contacts} contacts and {summary.touches} touches for "
        f"{summary.reps} reps.\n"
    )
    with runtime.db.transaction() as session:
        account_id = find_account_id(session=session, query=summary.featured_account)
        status = account_status(
            session=session,
            account_id=account_id,
            now=runtime.now(),
            tier_cadence=runtime.tier_cadence,
            calendars=runtime.calendars,
        )
    out.print(f"What `/account {summary.featured_account}` shows:")
    out.print(status_card(status))
    out.print(
        "\nToday's reminders, as each rep would get them (on working days, at "
        f"{runtime.settings.reminder_time:%H:%M} in each rep's own time zone):"
    )
    print_due(runtime)
    rebuy = _this_command()
    out.print(
        f"\nTry it yourself:\n  DATABASE_URL={url} {rebuy} account atlas\n"
        f"  DATABASE_URL={url} {rebuy} account northwind   (two accounts match: you choose)\n"
        f"  DATABASE_URL={url} {rebuy} report"
    )


def _this_command() -> str:
    """How the user ran us (".venv/bin/rebuy" or "rebuy"), for copy-paste hints."""
    import shutil

    invoked = Path(sys.argv[0])
    if invoked.name == "rebuy" and shutil.which("rebuy") != str(invoked.resolve()):
        try:
            return str(invoked.resolve().relative_to(Path.cwd()))
        except ValueError:
            return str(invoked)
    return "rebuy"


def is_demo_database(path: Path) -> bool:
    """True for a SQLite file `rebuy demo` made (every rep at the demo domain)."""
    import sqlite3

    from bot.demo_data import DEMO_DOMAIN

    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            emails = [row[0] for row in connection.execute("SELECT email FROM rep")]
        finally:
            connection.close()
    except sqlite3.Error:
        return False
    return all(email.endswith("@" + DEMO_DOMAIN) for email in emails)
