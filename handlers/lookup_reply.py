"""Finding the account a sub-command names, or answering privately with a pick list or
"did you mean" when the name does not say which one."""

from __future__ import annotations

from bot.messages.help import help_message
from bot.messages.kit import escape, notice
from bot.messages.pick import pick_list
from bot.retention.errors import AccountNotFound, AmbiguousAccount
from bot.retention.lookup import Match, find_account_match

EXAMPLES = {
    "log": "log acme call",
    "snooze": "snooze acme 2w",
    "plan": "plan acme",
    "cadence": "cadence acme 21",
    "owner": "owner acme ben@yourcompany.com",
}


def resolve_match(
    session, query: str, reply, *, verb: str, pending: dict | None = None
) -> Match | None:
    """The account and how it was found, or None after privately replying with a pick
    list / did-you-mean.

    With `pending` (what the rep asked to do) the pick-list buttons carry it, so that
    choosing an account finishes the job instead of only showing the card.
    """
    if not query.strip():
        example = EXAMPLES.get(verb, "acme")
        reply(
            help_message(f"Which account? Add its name, e.g. `/account {example}`."),
            private=True,
        )
        return None
    try:
        return find_account_match(session=session, query=query)
    except AmbiguousAccount as error:
        reply(
            pick_list(query, error.candidates, ambiguous=True, total=error.total, pending=pending),
            private=True,
        )
    except AccountNotFound as error:
        reply(not_found(query, error, pending=pending), private=True)
    return None


def not_found(query: str, error: AccountNotFound, *, pending: dict | None = None) -> dict:
    if error.empty:
        return notice(escape(error.message))
    payload = pick_list(query, error.candidates, ambiguous=False, pending=pending)
    return payload if error.candidates else help_message(payload["text"])


def guessed(match: Match) -> bool:
    """Was the name typed not exactly the account's name or CRM id (a prefix, a word of
    it, a typo)? Then the answer says which account it acted on, with an Undo."""
    return match.how not in ("id", "name")
