"""`rebuy account NAME`: one account's status card."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import AsJson, AsOf, now_for, out, print_json, reader_runtime
from bot.retention.dates import parse_as_of
from bot.retention.errors import AccountNotFound, AmbiguousAccount, InvalidInput


def account(
    name: Annotated[list[str], typer.Argument(help="Account name (forgiving) or CRM id.")],
    as_json: AsJson = False,
    as_of: AsOf = None,
) -> None:
    """Show one account's status card: health, orders, touches, tactics."""
    from bot.retention.lookup import find_account_id
    from bot.retention.status import account_status
    from bot.terminal import status_card

    query = " ".join(name)
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
            raise typer.Exit(1) from None
        raise
    if as_json:
        print_json(status.to_dict())
    else:
        out.print(status_card(status))
