"""`rebuy reps …`: sales reps, their Slack users and their holiday calendars."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import out, writer_runtime

reps_app = typer.Typer(help="Sales reps and their Slack users.", no_args_is_help=True)


@reps_app.command("sync")
def reps_sync() -> None:
    """Map reps' e-mails to Slack users and cache their time zones (users.list)."""
    from bot.reminders import sync_reps

    runtime = writer_runtime()
    out.print(sync_reps(runtime))


@reps_app.command("set")
def reps_set(
    rep_email: Annotated[str, typer.Argument(metavar="EMAIL", help="The rep's e-mail.")],
    country: Annotated[
        str,
        typer.Option(
            "--country",
            help="ISO country code (e.g. DE) whose public holidays are the rep's days off; "
            '"" for the workspace default (HOLIDAY_COUNTRY).',
        ),
    ],
    subdivision: Annotated[
        str | None,
        typer.Option("--subdivision", help="A state or region of the country (e.g. BY)."),
    ] = None,
) -> None:
    """Set a rep's holiday calendar: reminders skip those days and due dates move past
    them."""
    from bot.retention.reps import set_rep_calendar

    runtime = writer_runtime()
    with runtime.db.transaction() as session:
        rep = set_rep_calendar(
            session=session, email=rep_email, country=country, subdivision=subdivision
        )
        where = "-".join(part for part in (rep.country, rep.subdivision) if part)
        email = rep.email
    if where:
        out.print(f"{email}: public holidays of {where}.")
    else:
        default = runtime.settings.holiday_country or "none: weekends only"
        out.print(f"{email}: the workspace default (HOLIDAY_COUNTRY: {default}).")
