"""`rebuy`: the command line for admins, and for trying Rebuy without Slack.

One module per command group (`account`, `report`, `importing`, `reminders`, `demo`,
`sync`, `serve`, `db`, `reps`, `model`), each importing its heavy modules inside the
command, so `rebuy --help` loads typer and rich only. Commands that only read check the
schema by one query and never migrate (`common.reader_runtime`); `serve`, `db upgrade`
and the commands that write migrate first (`common.writer_runtime`).
"""

from __future__ import annotations

import logging
import os
import re
import sys

import typer

from bot.cli import account, db, demo, importing, model, reminders, report, reps, serve, sync
from bot.cli.common import err
from bot.retention.errors import RebuyError

app = typer.Typer(
    name="rebuy",
    help="Rebuy keeps your mid-sized accounts buying again. Try `rebuy demo`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command()(account.account)
app.command()(report.report)
app.command("import")(importing.import_)
app.command()(reminders.remind)
app.command()(reminders.away)
app.command()(demo.demo)
app.add_typer(db.db_app, name="db")
app.add_typer(reps.reps_app, name="reps")
app.command()(sync.sync)
app.command()(serve.serve)
app.add_typer(model.model_app, name="model")


def main() -> None:
    """Console entry point: friendly errors, never a traceback (REBUY_DEBUG=1 for one)."""
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    debug = os.environ.get("REBUY_DEBUG") == "1"
    try:
        app(prog_name="rebuy")
    except RebuyError as error:
        err.print(error.message)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:
        problem = _configuration_problem(error)
        if problem is not None:
            err.print(problem)
            sys.exit(2)
        if debug:
            raise
        database = _database_problem(error)
        if database is not None:
            err.print(database)
        else:
            err.print(f"Something went wrong: {type(error).__name__}: {error}")
            err.print("Run again with REBUY_DEBUG=1 to see the details.")
        sys.exit(2)


# An error of a library's type can only exist once that library is loaded, so these
# look the types up in sys.modules rather than import pydantic or SQLAlchemy up front.


def _configuration_problem(error: Exception) -> str | None:
    """The sentence for a setting that could not be read or is not valid, else None."""
    pydantic_core = sys.modules.get("pydantic_core")
    if pydantic_core is not None and isinstance(error, pydantic_core.ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in error.errors()
        )
        return f"Configuration problem: {problems}"
    settings = sys.modules.get("pydantic_settings")
    if settings is not None and isinstance(error, settings.SettingsError):
        # pydantic-settings could not even parse a value (e.g. JSON that isn't).
        found = re.search(r'field "(\w+)"', str(error))
        name = found.group(1).upper() if found else "a setting"
        return f"Configuration problem: {name} could not be read ({error})."
    return None


def _database_problem(error: Exception) -> str | None:
    """The sentence for a database that cannot be used, else None."""
    exc = sys.modules.get("sqlalchemy.exc")
    if exc is not None and isinstance(error, exc.OperationalError):
        return f"Cannot use the database: {str(error.orig).strip()}. Check DATABASE_URL."
    # The DB-API drivers themselves, for commands that read without SQLAlchemy (report).
    for driver in ("psycopg", "sqlite3"):
        module = sys.modules.get(driver)
        if module is not None and isinstance(error, module.OperationalError):
            return f"Cannot use the database: {str(error).strip()}. Check DATABASE_URL."
    return None
