"""The bodies of the read-only commands `rebuy report` and `rebuy account`, shared by
the Typer commands and the lean path. No Typer here; Rich only for the text views.
Each returns the process's exit code."""

from __future__ import annotations

from datetime import datetime

from bot.cli.plain import print_json
from bot.retention.errors import AccountNotFound, AmbiguousAccount, InvalidInput


def show_report(
    database_url: str, rebuy_now: datetime | None, *, as_json: bool, as_of: str | None
) -> int:
    """The recency report, read through the DB-API (bot.retention.report_command)."""
    from bot.clock import clock_from
    from bot.retention.report_command import read_report

    try:
        result = read_report(database_url, now=clock_from(rebuy_now)(), as_of=as_of)
    except InvalidInput as error:
        if not as_json:
            raise
        print_json({"error": error.message})
        return 1
    if as_json:
        print_json(result.to_dict())
    else:
        _print_report_text(result)
    return 0


def show_account(words: list[str], *, as_json: bool, as_of: str | None) -> int:
    """One account's status card (the name as typed, words joined by spaces)."""
    from bot.cli.runtimes import now_for, reader_runtime
    from bot.retention.dates import parse_as_of
    from bot.retention.lookup import find_account_id
    from bot.retention.status import account_status

    query = " ".join(words)
    try:
        day = parse_as_of(as_of)
        runtime = reader_runtime()
        # A read: no write lock, so a long import elsewhere never blocks a look-up.
        with runtime.db.session() as session:
            if day is not None:
                from bot.retention.report import check_as_of

                check_as_of(session=session, as_of=day, today=runtime.today())
            account_id = find_account_id(session=session, query=query)
            status = account_status(
                session=session,
                account_id=account_id,
                now=now_for(runtime, day),
                as_of=day,
                tier_cadence=runtime.tier_cadence,
                calendars=runtime.calendars,
            )
    except (AccountNotFound, AmbiguousAccount, InvalidInput) as error:
        if as_json:
            print_json({"error": error.message, "suggestions": getattr(error, "suggestions", [])})
            return 1
        raise
    if as_json:
        print_json(status.to_dict())
    else:
        from bot.terminal import status_card

        _console().print(status_card(status))
    return 0


def _console():
    from rich.console import Console

    # Markup and emoji codes off: names are printed as they are (bot.cli.common.out).
    return Console(highlight=False, soft_wrap=True, markup=False, emoji=False)


def _print_report_text(result) -> None:
    from rich.table import Table

    from bot.terminal import report_view

    out = _console()
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

        out.print(
            "\n"
            + Unowned(
                count=unowned["count"],
                names=unowned["first"],
                left=unowned.get("owner_left_slack", 0),
            ).sentence()
        )
