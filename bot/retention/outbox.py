"""Touches logged in Rebuy, queued for their account's CRM in the same transaction.

A touch on an account synced from a CRM (`Account.crm_source`) gets a `CrmOutbox`
row next to it; a worker (`bot.crm.outbox`) writes it to the CRM later. Taking the
touch back (a removed reaction) cancels the row if it was not sent yet, or asks the
worker to delete the CRM activity if it was.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlmodel import Session, select

from models import Account, CrmOutbox, Rep, Touch

# Sources Rebuy can write touches to (the SQL source is read-only).
WRITABLE_SOURCES = ("hubspot", "salesforce")


def outbox_key() -> str:
    """A new idempotency key for the CRM activity (the sync reads it back). Not the
    touch's id: ids of deleted rows can be used again (SQLite), keys never are."""
    return f"rebuy-{uuid.uuid4().hex}"


def enqueue_touch(*, session: Session, touch: Touch, now: datetime) -> CrmOutbox | None:
    """Queue `touch` for its account's CRM; None when the account is not synced from one."""
    account = session.get(Account, touch.account_id)
    if account is None or account.crm_source not in WRITABLE_SOURCES:
        return None
    assert touch.id is not None, "flush the touch before queueing it"
    rep = session.get(Rep, touch.rep_id) if touch.rep_id is not None else None
    if rep is None and account.owner_id is not None:
        rep = session.get(Rep, account.owner_id)
    item = CrmOutbox(
        key=outbox_key(),
        touch_id=touch.id,
        source=account.crm_source,
        account_external_id=account.external_id,
        kind=touch.kind,
        touched_at=touch.touched_at,
        note=touch.note,
        rep_email=rep.email if rep else None,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(item)
    session.flush()
    return item


def take_back(*, session: Session, touch_id: int, now: datetime) -> None:
    """The touch was taken back: never send it, or delete what was sent."""
    for item in session.exec(select(CrmOutbox).where(CrmOutbox.touch_id == touch_id)):
        if item.status == "sent":
            item.status = "delete"
            item.attempts = 0
        elif item.status in ("pending", "failed", "auth_failed"):
            item.status = "cancelled"
        else:
            continue
        item.next_attempt_at = now
        item.updated_at = now
        session.add(item)
    session.flush()
