"""A company merged away in the CRM: its history moves to the company that absorbed it.

The CRM shows the survivor with every deal, activity and contact of both; so must
Rebuy, or the survivor would look dormant while its orders sit on an archived account.
The merged account itself is archived (never deleted) with `merged_into`. Rows that
would clash with the survivor's own (the same order key, the same contact) stay on the
archived account. Touches still waiting to be written to the CRM are redirected to the
survivor, since the merged company no longer exists there.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from bot.retention.summary import refresh_summary
from models import Account, Contact, CrmOutbox, Order, OutboxStatus, Touch

_ACCOUNTS = Account.__table__
_ORDERS = Order.__table__
_CONTACTS = Contact.__table__
_TOUCHES = Touch.__table__
_OUTBOX = CrmOutbox.__table__
_WAITING = (OutboxStatus.PENDING, OutboxStatus.AUTH_FAILED)


def absorb(session: Session, merged: str, survivor: str, *, today: date) -> None:
    """Move the history of account `merged` (external id) to `survivor`, when both exist
    (both accounts' purchase summaries are refreshed: orders moved)."""
    ids = dict(
        session.execute(
            sa.select(_ACCOUNTS.c.external_id, _ACCOUNTS.c.id).where(
                _ACCOUNTS.c.external_id.in_([merged, survivor])
            )
        ).all()
    )
    if merged == survivor or merged not in ids or survivor not in ids:
        return
    old, new = ids[merged], ids[survivor]
    _move_unless_taken(session, _ORDERS, "order_key", old, new)
    refresh_summary(session.connection(), [old, new], today=today)
    _move_unless_taken(session, _CONTACTS, "contact_key", old, new)
    session.execute(sa.update(_TOUCHES).where(_TOUCHES.c.account_id == old).values(account_id=new))
    session.execute(
        sa.update(_OUTBOX)
        .where(_OUTBOX.c.account_external_id == merged, _OUTBOX.c.status.in_(_WAITING))
        .values(account_external_id=survivor)
    )


def _move_unless_taken(session: Session, table: sa.Table, key: str, old: int, new: int) -> None:
    mine = table.alias("taken")
    clash = sa.exists().where(mine.c.account_id == new, mine.c[key] == table.c[key])
    session.execute(
        sa.update(table).where(table.c.account_id == old, ~clash).values(account_id=new)
    )
