"""`rebuy report`: the recency report, tactic win rates and accounts nobody owns."""

from __future__ import annotations

import typer

from bot.cli.common import AsJson, AsOf, now_for, out, parse_as_of, print_json, reader_runtime
from bot.retention.errors import InvalidInput


def report(as_json: AsJson = False, as_of: AsOf = None) -> None:
    """The recency report: who stopped buying, who buys less, when the best last bought."""
    from bot.retention.report import check_as_of, recency_report
    from bot.retention.tactic_stats import tactic_win_rates
    from bot.retention.unowned import unowned_accounts
    from bot.terminal import report_view

    runtime = reader_runtime()
    try:
        day = parse_as_of(as_of)
        if day is not None:
            with runtime.db.session() as session:
                check_as_of(session=session, as_of=day, today=runtime.today())
    except InvalidInput as error:
        if as_json:
            print_json({"error": error.message})
            raise typer.Exit(1) from None
        raise
    now = now_for(runtime, day)
    with runtime.db.session() as session:
        result = recency_report(session=session, now=now, as_of=day)
        # Which suggested tactics were followed by a re-order within 60 days.
        result.extra["tactic_win_rates"] = tactic_win_rates(session=session, now=now)
        # Accounts nobody owns today (imported without a rep): nobody is reminded of them.
        unowned = unowned_accounts(session=session)
        result.extra["accounts_without_owner"] = unowned.to_dict()
    if as_json:
        print_json(result.to_dict())
    else:
        out.print(report_view(result))
        _print_win_rates(result.extra["tactic_win_rates"])
        if unowned.count:
            out.print("\n" + unowned.sentence())


def _print_win_rates(rows: list[dict]) -> None:
    from rich.table import Table

    if not rows:
        out.print(
            "\nTactics that bring rebuys: no results yet. A touch logged from a reminder "
            "counts once its account re-orders, or after 60 days without one."
        )
        return
    table = Table(title="Tactics that bring rebuys (re-order within 60 days of the touch)")
    table.add_column("Tactic")
    table.add_column("Touches", justify="right")
    table.add_column("Re-bought", justify="right")
    table.add_column("Win rate", justify="right")
    for row in rows:
        table.add_row(row["title"], str(row["touches"]), str(row["wins"]), f"{row['win_rate']:.0%}")
    out.print(table)
