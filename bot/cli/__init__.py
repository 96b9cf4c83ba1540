"""`rebuy`: the command line for admins, and for trying Rebuy without Slack.

`main` runs the read-only commands (`report`, `account`) through a lean path
(bot/cli/lean.py: no Typer, no pydantic-settings for the report) when their arguments
are plain, and everything else through the Typer app (bot/cli/commands.py), which also
owns every --help text and usage error. Errors become sentences, never tracebacks.
"""

from __future__ import annotations

import logging
import os
import re
import sys

from bot.cli.plain import say
from bot.retention.errors import RebuyError


def __getattr__(name: str):
    # `bot.cli.app` (the Typer app) is built on first use, so the lean path never pays
    # for Typer, Rich or the command modules.
    if name == "app":
        from bot.cli.commands import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Console entry point: friendly errors, never a traceback (REBUY_DEBUG=1 for one)."""
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "WARNING").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    debug = os.environ.get("REBUY_DEBUG") == "1"
    try:
        from bot.cli.lean import run_lean

        code = run_lean(sys.argv[1:])
        if code is None:
            from bot.cli.commands import app

            app(prog_name="rebuy")
        elif code:
            sys.exit(code)
    except RebuyError as error:
        say(error.message, error=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:
        problem = _configuration_problem(error)
        if problem is not None:
            say(problem, error=True)
            sys.exit(2)
        if debug:
            raise
        database = _database_problem(error)
        if database is not None:
            say(database, error=True)
        else:
            say(f"Something went wrong: {type(error).__name__}: {error}", error=True)
            say("Run again with REBUY_DEBUG=1 to see the details.", error=True)
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
        return _cannot_use(str(error.orig))
    # The DB-API drivers themselves, for commands that read without SQLAlchemy (report).
    for driver in ("psycopg", "sqlite3"):
        module = sys.modules.get(driver)
        if module is not None and isinstance(error, module.OperationalError):
            return _cannot_use(str(error))
    return None


# SQLite's words for a file it cannot open or write: a missing folder, or one this user
# may not write to (SQLite writes FILE-wal and FILE-shm beside the file, even to read).
_SQLITE_CANNOT_WRITE = ("unable to open database file", "readonly database")


def _cannot_use(reason: str) -> str:
    reason = reason.strip()
    if any(words in reason for words in _SQLITE_CANNOT_WRITE):
        return (
            f"Cannot use the database: {reason}. Check DATABASE_URL, that the SQLite "
            "file's folder exists, and that this user may write in it (SQLite writes "
            "FILE-wal and FILE-shm beside the file, even to read)."
        )
    return f"Cannot use the database: {reason}. Check DATABASE_URL."
