"""The lean path: `rebuy report` and `rebuy account NAME` without Typer or Rich's start-up.

A read-only command with plain arguments (its name, words, `--json`, `--as-of DAY` or
`--as-of=DAY`, in any order, as Click accepts them) runs here. Anything else (`--help`,
an unknown option, a missing value, no account name) returns None and goes to the
Typer app, so the --help texts and usage errors stay Typer's own.

`rebuy report` also reads its two settings here (DATABASE_URL and REBUY_NOW, from the
environment, else `.env`, as pydantic-settings reads them) instead of building the
whole Settings object; a REBUY_NOW this reader does not recognise goes to the full path,
whose settings check explains it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime

DEFAULT_DATABASE_URL = "sqlite:///rebuy.db"  # bot.settings.Settings.database_url
# The ISO forms pydantic and datetime.fromisoformat read the same way.
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?")


@dataclass
class Call:
    """A read-only command's arguments, as Typer would have passed them."""

    command: str
    words: list[str] = field(default_factory=list)
    as_json: bool = False
    as_of: str | None = None


def parse(args: list[str]) -> Call | None:
    """The call `args` (after `rebuy`) make, or None when Typer should handle them."""
    if not args or args[0] not in ("report", "account"):
        return None
    call = Call(args[0])
    rest = iter(args[1:])
    for token in rest:
        if token == "--json":
            call.as_json = True
        elif token == "--as-of":
            value = next(rest, None)
            if value is None or value.startswith("-"):
                return None
            call.as_of = value
        elif token.startswith("--as-of="):
            call.as_of = token.removeprefix("--as-of=")
        elif token.startswith("-") or call.command == "report":
            return None  # --help, an unknown option, an extra argument: Typer says so
        else:
            call.words.append(token)
    if call.command == "account" and not call.words:
        return None
    if call.as_of == "":
        return None
    return call


def run_lean(args: list[str]) -> int | None:
    """Run `args` on the lean path: its exit code, or None when it is not one for it."""
    call = parse(args)
    if call is None:
        return None
    from bot.cli.readers import show_account, show_report

    if call.command == "account":
        return show_account(call.words, as_json=call.as_json, as_of=call.as_of)
    setting = Setting.read()
    now = setting("rebuy_now")
    if now is not None and not _MOMENT.fullmatch(now):
        return None
    return show_report(
        setting("database_url") or DEFAULT_DATABASE_URL,
        datetime.fromisoformat(now) if now is not None else None,
        as_json=call.as_json,
        as_of=call.as_of,
    )


class Setting:
    """Settings by name, as pydantic-settings finds them: the environment (names in any
    case), else `.env` in the working directory; an empty value counts as unset."""

    def __init__(self, environment: dict[str, str], dotenv: dict[str, str]) -> None:
        self.environment = environment
        self.dotenv = dotenv

    @classmethod
    def read(cls) -> Setting:
        environment = {name.lower(): value for name, value in os.environ.items()}
        dotenv: dict[str, str] = {}
        if os.path.isfile(".env"):
            from dotenv import dotenv_values

            values = dotenv_values(".env", encoding="utf-8")
            dotenv = {name.lower(): value for name, value in values.items() if value is not None}
        return cls(environment, dotenv)

    def __call__(self, name: str) -> str | None:
        for source in (self.environment, self.dotenv):
            value = source.get(name)
            if value:
                return value
        return None
