"""`rebuy reps …`: sales reps, their Slack users and their holiday calendars."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import out, writer_runtime

reps_app = typer.Typer(help="Sales reps and their Slack users.", no_args_is_help=True)


@reps_app.command("sync")
def reps_sync() -> None:
    """Map reps' e-mails to Slack users and cache their time zones (users.list)."""
    from bot.delivery.remind import require_token
    from bot.reminders import sync_reps
    from bot.slack_client import check_bot_token, make_web_client, said_at_start_up

    runtime = writer_runtime()
    require_token(runtime, "`rebuy reps sync` reads the workspace's users as the bot.")
    client = make_web_client(runtime.settings)
    check_bot_token(client, doing="checked its bot token")
    with said_at_start_up(
        base_url=client.base_url,
        doing="listed the workspace's users",
        refused=(
            "Slack refused to list the workspace's users ({code}): the app needs the "
            "users:read and users:read.email scopes (manifest.yml; reinstall the app "
            "after adding them)."
        ),
        unreachable=(
            f"Could not reach Slack at {client.base_url} ({{reason}}): check this "
            "machine's network{setting}, then try again."
        ),
    ):
        summary = sync_reps(runtime, client)
    out.print(summary)


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
