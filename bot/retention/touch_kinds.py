"""The one table of words for touch kinds: what reps type, what CRMs export, what
Slack calls the reaction emoji. The command parser, the reactions, the importer and
the CRM mappings all read a kind through `touch_kind`."""

from __future__ import annotations

import re

from bot.retention.errors import InvalidInput

# Every kind of touch Rebuy stores (`touch.kind`); `models` and the messages read it here.
TOUCH_KINDS = ("call", "email", "meeting", "visit", "note")

# Keys are lower-case letters only (see `_key`): "E-mail", "Logged call" and
# "telephone_receiver" are found as "email", "loggedcall" and "telephonereceiver".
KIND_ALIASES = {
    # calls
    "call": "call",
    "calls": "call",
    "called": "call",
    "phone": "call",
    "phoned": "call",
    "phonecall": "call",
    "loggedcall": "call",
    "telephonereceiver": "call",
    # e-mails
    "email": "email",
    "emails": "email",
    "emailed": "email",
    "mail": "email",
    "mailed": "email",
    "listemail": "email",
    "loggedemail": "email",
    "envelope": "email",
    "incomingenvelope": "email",
    # meetings
    "meeting": "meeting",
    "meetings": "meeting",
    "meet": "meeting",
    "met": "meeting",
    "event": "meeting",
    "lunch": "meeting",
    "demo": "meeting",
    "handshake": "meeting",
    # visits
    "visit": "visit",
    "visits": "visit",
    "visited": "visit",
    "sitevisit": "visit",
    # anything else is a note
    "note": "note",
    "notes": "note",
    "other": "note",
    "task": "note",
    "todo": "note",
    "deadline": "note",
    "whitecheckmark": "note",
    "heavycheckmark": "note",
    "ballotboxwithcheck": "note",
}
assert set(KIND_ALIASES.values()) == set(TOUCH_KINDS)
_NOT_A_LETTER = re.compile(r"[^a-z]")


def _key(text: str) -> str:
    return _NOT_A_LETTER.sub("", text.lower())


def touch_kind(text: str | None) -> str | None:
    """ "Call", "Logged call", "E-mail", "other", "handshake" -> call, email, note,
    meeting; None when the word is not a kind of touch."""
    return KIND_ALIASES.get(_key(text or "")) if text and text.strip() else None


def parse_touch_kind(text: str | None) -> str:
    """The kind a rep typed (a missing one is a note); InvalidInput when unknown."""
    if text is None or not text.strip():
        return "note"
    kind = touch_kind(text)
    if kind is None:
        raise InvalidInput(
            f"“{text}” is not a kind of touch: use call, email, meeting, visit or other."
        )
    return kind
