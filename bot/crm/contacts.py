"""Contacts as the CRM has them now: linked by the CRM's id, archived when removed there.

The importer matches contacts by e-mail (or name) within an account, as CSV files
need. A live sync also knows the CRM's id of each person, so after the importer has
written a chunk of contacts, each is tagged with that id. With it:

- a contact deleted or archived in the CRM is archived in Rebuy;
- a contact taken off a company (or moved to another) is archived on the company it
  left; if it arrives on a company, it is live there;
- a contact the CRM restores comes back.

Archived contacts are never deleted (`archived_at` is set): they are left out of the
counts (single-threaded) and the status card.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session

from bot.crm.base import ContactRow, Removed
from bot.retention.names import normalize_name
from models import Account, Contact

_IDS_PER_QUERY = 500
_KEY_LIMIT = 320
_CONTACTS = Contact.__table__
_ACCOUNTS = Account.__table__


def contact_key(row: ContactRow) -> str:
    """What the importer matches a contact on: the e-mail, else the normalised name."""
    if row.email:
        return row.email.strip().lower()
    return (normalize_name(row.name) or row.name.casefold())[:_KEY_LIMIT]


def link_contacts(session: Session, rows: Sequence[ContactRow], now: datetime) -> int:
    """Tag the written contacts with their CRM id; archive that id's copies elsewhere.

    Returns how many contacts were archived because the person moved or left.
    """
    latest: dict[str, ContactRow] = {}
    for row in rows:
        if row.external_id:
            latest[row.external_id] = row  # the CRM's newest version wins
    if not latest:
        return 0
    accounts = _account_ids(session, {row.account_external_id for row in latest.values()})
    targets = {
        ext: (accounts[row.account_external_id], contact_key(row))
        for ext, row in latest.items()
        if row.account_external_id in accounts
    }
    archived: list[int] = []
    for part in _chunks(sorted(targets)):
        for cid, account_id, key, ext in session.execute(
            sa.select(
                _CONTACTS.c.id,
                _CONTACTS.c.account_id,
                _CONTACTS.c.contact_key,
                _CONTACTS.c.external_id,
            ).where(_CONTACTS.c.external_id.in_(part), _CONTACTS.c.archived_at.is_(None))
        ):
            if (account_id, key) != targets[ext]:
                archived.append(cid)
    if targets:
        session.execute(
            sa.update(_CONTACTS)
            .where(
                _CONTACTS.c.account_id == sa.bindparam("a"),
                _CONTACTS.c.contact_key == sa.bindparam("k"),
            )
            .values(external_id=sa.bindparam("x"), archived_at=None),
            [{"a": a, "k": k, "x": ext} for ext, (a, k) in targets.items()],
        )
    _archive_ids(session, archived, now)
    return len(archived)


def archive_removed(session: Session, removed: Iterable[Removed], now: datetime) -> int:
    """Contacts deleted in the CRM, or on no company any more: archived, never dropped."""
    ids = sorted({item.external_id for item in removed})
    done = 0
    for part in _chunks(ids):
        result = session.execute(
            sa.update(_CONTACTS)
            .where(_CONTACTS.c.external_id.in_(part), _CONTACTS.c.archived_at.is_(None))
            .values(archived_at=now)
        )
        done += result.rowcount or 0
    return done


def _archive_ids(session: Session, ids: list[int], now: datetime) -> None:
    for part in _chunks(ids):
        session.execute(
            sa.update(_CONTACTS).where(_CONTACTS.c.id.in_(part)).values(archived_at=now)
        )


def _account_ids(session: Session, external_ids: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in _chunks(sorted(external_ids)):
        found.update(
            session.execute(
                sa.select(_ACCOUNTS.c.external_id, _ACCOUNTS.c.id).where(
                    _ACCOUNTS.c.external_id.in_(part)
                )
            ).all()
        )
    return found


def _chunks(items: list) -> Iterable[list]:
    for start in range(0, len(items), _IDS_PER_QUERY):
        yield items[start : start + _IDS_PER_QUERY]
