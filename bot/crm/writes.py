"""What a sync chunk writes: the importer's planners over the rows, removals, links, cursor.

Called by bot/crm/sync inside the chunk's transaction (see there for the guarantees).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.crm import contacts as crm_contacts
from bot.crm import merge, planned
from bot.crm.base import ContactRow, Cursor, OrderRow, Removed, Row, TouchRow, import_row
from bot.retention.importer.accounts import plan_accounts
from bot.retention.importer.contacts import plan_contacts
from bot.retention.importer.formats import FORMATS, FileFormat, ImportOptions
from bot.retention.importer.orders import plan_orders
from bot.retention.importer.reading import CsvRows
from bot.retention.importer.touches import plan_touches
from bot.retention.summary import refresh_summary
from models import Account, CrmOutbox, Order, SyncCursor, Touch

_PLANNERS = {
    "accounts": plan_accounts,
    "contacts": plan_contacts,
    "orders": plan_orders,
    "touches": plan_touches,
}
_IDS_PER_QUERY = 500
# HubSpot reports removed activities by id without their object type.
_ACTIVITY_TYPES = ("calls", "emails", "meetings", "notes", "tasks", "Task", "Event")


def link_written(session: Session, rows: list[Row], counts: dict[str, int]) -> list[Row]:
    """Activities Rebuy wrote (their key is an outbox row's) are linked, not imported."""
    keyed = {row.rebuy_key: row for row in rows if isinstance(row, TouchRow) and row.rebuy_key}
    if not keyed:
        return rows
    known: dict[str, CrmOutbox] = {}
    keys = sorted(keyed)
    for start in range(0, len(keys), _IDS_PER_QUERY):
        part = keys[start : start + _IDS_PER_QUERY]
        for item in session.exec(select(CrmOutbox).where(CrmOutbox.key.in_(part))):
            known[item.key] = item
    kept: list[Row] = []
    for row in rows:
        key = row.rebuy_key if isinstance(row, TouchRow) else None
        item = known.get(key) if key else None
        if item is None:
            kept.append(row)
            continue
        counts["linked"] += 1
        if item.crm_id is None and isinstance(row, TouchRow) and row.external_id:
            item.crm_id = row.external_id.rsplit(":", 1)[-1]
            session.add(item)
    session.flush()
    return kept


def plan_and_write(
    session: Session,
    source: str,
    kind: str,
    stream: str,
    rows: list[Row],
    now: datetime,
    tiers: Sequence[str],
    counts: dict[str, int],
    errors: list[str],
) -> None:
    """The importer's planner over the rows as the CSV cells it reads; bad rows skipped."""
    cells = [import_row(kind, row) for row in rows]
    # A field the source does not fill (e.g. no cadence property configured) is left
    # out, like a column missing from a file: Rebuy's own value stays.
    required = set(FORMATS[kind].required)
    header = [
        name
        for name in cells[0]
        if name in required or name == "touch_id" or any(cell[name] for cell in cells)
    ]
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows([cell[name] for name in header] for cell in cells)
    text.seek(0)
    found = FileFormat("utf-8", ",", encoding_detected=False, delimiter_detected=False)
    where = Path(f"{source} {stream}")
    csv_rows = CsvRows(where, kind, text, ImportOptions(), found, None)
    plan = _PLANNERS[kind](session, csv_rows, now=now, tiers=tiers)
    for problem in csv_rows.problems:
        index = problem.line - 2  # the header is line 1
        record = _record_id(rows[index]) if 0 <= index < len(rows) else "?"
        column = f" {problem.column}" if problem.column else ""
        errors.append(f"{stream} record {record}:{column} {problem.reason}")
    bad = len({problem.line for problem in csv_rows.problems})
    counts["skipped"] += bad
    counts["bad"] = counts.get("bad", 0) + bad
    counts["skipped"] += plan.left_out.total()
    if plan.created or plan.updated:
        plan.write()
        session.expire_all()
    counts["created"] += plan.created
    counts["updated"] += plan.updated
    counts["unchanged"] += plan.unchanged
    if kind == "orders":
        refused = {problem.line - 2 for problem in csv_rows.problems}
        moved = [row for i, row in enumerate(rows) if i not in refused]
        counts["removed"] += drop_moved_orders(session, source, moved, now)  # type: ignore[arg-type]
    if kind == "accounts":
        mark_source(session, source, [row.external_id for row in rows])  # type: ignore[union-attr]
    elif kind == "contacts":
        people = [row for row in rows if isinstance(row, ContactRow)]
        counts["removed"] += crm_contacts.link_contacts(session, people, now)


def _record_id(row: Row) -> str:
    return str(getattr(row, "external_id", None) or getattr(row, "order_id", None) or "?")


def drop_moved_orders(
    session: Session, source: str, rows: Sequence[OrderRow], now: datetime
) -> int:
    """A deal the CRM moved to another company: its copy on the company it left goes.

    Orders are keyed by (account, order id), so the planner writes a moved deal as a new
    order on its new company; the CRM's id is one deal, so any other copy of it on an
    account fed by this source is the stale one (its purchase summary is refreshed).
    """
    target = {row.order_id: row.account_external_id for row in rows}
    if not target:
        return 0
    ids = sorted(target)
    accounts = Account.__table__
    stale: list[tuple[int, int]] = []  # (order id, account id)
    for start in range(0, len(ids), _IDS_PER_QUERY):
        part = ids[start : start + _IDS_PER_QUERY]
        for order_id, account_id, key, external_id in session.execute(
            sa.select(Order.id, Order.account_id, Order.order_key, accounts.c.external_id)
            .join(accounts, accounts.c.id == Order.account_id)
            .where(Order.order_key.in_(part), accounts.c.crm_source == source)
        ):
            if target.get(key) != external_id:
                stale.append((order_id, account_id))
    if not stale:
        return 0
    for start in range(0, len(stale), _IDS_PER_QUERY):
        part = [order_id for order_id, _ in stale[start : start + _IDS_PER_QUERY]]
        session.execute(sa.delete(Order).where(Order.id.in_(part)))
    refresh_summary(session.connection(), {a for _, a in stale}, today=now.astimezone(UTC).date())
    return len(stale)


def mark_source(session: Session, source: str, external_ids: Iterable[str]) -> None:
    """Accounts in the source are fed by it, and live again if the CRM restored them."""
    ids = sorted(set(external_ids))
    table = Account.__table__
    for start in range(0, len(ids), _IDS_PER_QUERY):
        part = ids[start : start + _IDS_PER_QUERY]
        session.execute(
            sa.update(table)
            .where(
                table.c.external_id.in_(part),
                sa.or_(
                    table.c.crm_source.is_distinct_from(source),
                    table.c.archived_at.is_not(None),
                ),
            )
            .values(crm_source=source, archived_at=None, merged_into=None)
        )


def remove(
    session: Session,
    source: str,
    kind: str,
    removed: list[Removed],
    now: datetime,
    counts: dict[str, int],
) -> None:
    if kind == "accounts":
        table = Account.__table__
        for item in removed:
            done = session.execute(
                sa.update(table)
                .where(table.c.external_id == item.external_id, table.c.archived_at.is_(None))
                .values(archived_at=item.removed_at or now, merged_into=item.merged_into)
            )
            counts["archived"] += done.rowcount or 0
            if item.merged_into:
                merge.absorb(
                    session, item.external_id, item.merged_into, today=now.astimezone(UTC).date()
                )
    elif kind == "orders":
        ids = sorted({item.external_id for item in removed})
        for start in range(0, len(ids), _IDS_PER_QUERY):
            part = ids[start : start + _IDS_PER_QUERY]
            gone = sa.select(Order.account_id).where(Order.order_key.in_(part)).distinct()
            accounts = list(session.execute(gone).scalars())
            done = session.execute(sa.delete(Order).where(Order.order_key.in_(part)))
            counts["removed"] += done.rowcount or 0
            refresh_summary(session.connection(), accounts, today=now.astimezone(UTC).date())
    elif kind == "touches":
        keys = sorted(
            {
                key
                for item in removed
                for key in [f"import:{item.external_id}"]
                + [f"import:{t}:{item.external_id}" for t in _ACTIVITY_TYPES]
            }
        )
        for start in range(0, len(keys), _IDS_PER_QUERY):
            part = keys[start : start + _IDS_PER_QUERY]
            done = session.execute(sa.delete(Touch).where(Touch.dedupe_key.in_(part)))
            counts["removed"] += done.rowcount or 0
        # A meeting booked for later and then cancelled or deleted is not held any more.
        planned.forget(session, source, [key.removeprefix("import:") for key in keys])
    elif kind == "contacts":
        counts["removed"] += crm_contacts.archive_removed(session, removed, now)


def store_cursor(session: Session, source: str, stream: str, cursor: Cursor, now: datetime):
    table = SyncCursor.__table__
    done = session.execute(
        sa.update(table)
        .where(table.c.source == source, table.c.stream == stream)
        .values(cursor=cursor.to_text(), updated_at=now)
    )
    if not done.rowcount:
        session.execute(
            sa.insert(table).values(
                source=source, stream=stream, cursor=cursor.to_text(), updated_at=now
            )
        )
