"""`rebuy remind` and `rebuy away`: today's reminder DMs and reps' away periods."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from bot.cli.common import day_arg, out, writer_runtime
from bot.retention.dates import day_label
from bot.retention.errors import InvalidInput

if TYPE_CHECKING:
    from bot.runtime import Runtime


def remind(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the reminders instead of sending them.")
    ] = False,
    rep: Annotated[
        str | None, typer.Option("--rep", help="Only this rep (e-mail).", metavar="EMAIL")
    ] = None,
) -> None:
    """Send today's reminder DMs now, to every rep inside their morning window
    (REMINDER_TIME to REMINDER_CUTOFF, their time zone) on a working day with accounts due;
    a second run the same day sends nothing. --dry-run prints the messages instead.
    Exits 1, naming the reps and why, when some could not be reached after retries."""
    from bot.delivery.remind import preview_reminders, remind_now

    runtime = writer_runtime()

    def echo(line: str) -> None:
        out.print(line, markup=False, emoji=False, soft_wrap=True)

    if dry_run:
        echo(preview_reminders(runtime, rep_email=rep, echo=echo))
        return
    from bot.delivery.remind import require_token
    from bot.slack_client import check_bot_token, make_web_client

    require_token(
        runtime,
        "reminders are sent as the Rebuy bot. Use `rebuy remind --dry-run` to see them "
        "without Slack.",
    )
    # A refused token or an unreachable Slack is one sentence, not "could not be
    # reached" for every rep after minutes of retries.
    check_bot_token(make_web_client(runtime.settings), doing="checked its bot token")
    result = remind_now(runtime, rep_email=rep, echo=echo)
    echo(str(result))
    if not result.complete:
        raise typer.Exit(1)


def away(
    rep_email: Annotated[str, typer.Argument(metavar="REP_EMAIL", help="The rep who is away.")],
    starts: Annotated[str, typer.Argument(metavar="FROM", help="First day away (YYYY-MM-DD).")],
    ends: Annotated[str, typer.Argument(metavar="TO", help="Last day away (YYYY-MM-DD).")],
    cover: Annotated[
        str | None, typer.Option("--cover", help="A rep who covers meanwhile.", metavar="EMAIL")
    ] = None,
) -> None:
    """Record an away period: no reminders and a frozen streak from FROM to TO (both
    included); with --cover the rep's due accounts go to the cover's morning DM."""
    from bot.retention.calendar import set_away

    runtime = writer_runtime()
    first, last = day_arg(starts, "FROM"), day_arg(ends, "TO")
    with runtime.db.transaction() as session:
        rep_id = _rep_id(session, rep_email)
        cover_id = _rep_id(session, cover) if cover else None
        set_away(
            session=session,
            rep_id=rep_id,
            starts_on=first,
            ends_on=last,
            cover_rep_id=cover_id,
            now=runtime.now(),
        )
    covered = f", covered by {cover.strip().lower()}" if cover else ""
    span = f"{day_label(first, weekday=True)} to {day_label(last, weekday=True)}"
    out.print(f"{rep_email.strip().lower()} is away {span}{covered}.")


def _rep_id(session, email: str) -> int:
    from sqlmodel import select

    from models import Rep

    rep_row = session.exec(select(Rep).where(Rep.email == email.strip().lower())).first()
    if rep_row is None:
        raise InvalidInput(f"No rep with e-mail {email}.")
    return rep_row.id


def print_due(runtime: Runtime, *, rep_email: str | None = None) -> None:
    """Each rep's due list, as their morning DM would show it."""
    from sqlmodel import select

    from bot.retention.due import due_by_rep
    from bot.terminal import due_list
    from models import Rep

    with runtime.db.transaction() as session:
        query = select(Rep).order_by(Rep.email)
        if rep_email:
            query = query.where(Rep.email == rep_email.strip().lower())
        reps = list(session.exec(query))
        if rep_email and not reps:
            raise InvalidInput(f"No rep with e-mail {rep_email}.")
        due = due_by_rep(
            session=session,
            as_of=runtime.today(),
            now=runtime.now(),
            tier_cadence=runtime.tier_cadence,
            calendars=runtime.calendars,
            limit=runtime.settings.reminder_max_per_day,
            owner_ids=[r.id for r in reps],
        )
        for rep_row in reps:
            label = (
                f"{rep_row.name or rep_row.email} <{rep_row.email}>"
                if rep_row.name
                else rep_row.email
            )
            out.print(due_list(label, due.get(rep_row.id, [])))
