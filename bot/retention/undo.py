"""Taking back a touch or snooze a rep made from `/account` (its Undo button).

The button names the change by its own unique key, never by a row id a database may hand
out again, so a late or repeated click can only ever remove that one change, once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from bot.retention.actions import undo_snooze, undo_touch
from bot.retention.errors import PermissionDenied
from models import Account, Snooze, Touch


@dataclass(frozen=True)
class Undone:
    what: str  # "touch" or "snooze"
    account_name: str
    kind: str | None  # the touch's kind


def take_back(
    *, session: Session, what: str, key: str, slack_user_id: str, now: datetime
) -> Undone | None:
    """Remove the touch or snooze made with `key`; None when it is already gone.
    Only the person who made it can take it back."""
    model = Touch if what == "touch" else Snooze
    row = session.exec(select(model).where(model.dedupe_key == key)).first()
    if row is None:
        return None
    if row.slack_user_id != slack_user_id:
        raise PermissionDenied("Only the person who made this change can undo it.")
    name = session.get(Account, row.account_id).name
    if what == "touch":
        kind = row.kind
        undo_touch(session=session, dedupe_key=key, now=now)
        return Undone("touch", name, kind)
    undo_snooze(session=session, dedupe_key=key)
    return Undone("snooze", name, None)
