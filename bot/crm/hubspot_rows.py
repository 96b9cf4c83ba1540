"""HubSpot records as Rebuy's rows: companies as accounts, contacts, closed-won deals as
orders, engagements and completed tasks as touches; what cannot be a row is skipped or,
when HubSpot took it back (a merge, a lost deal, a missed meeting), removed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.crm.base import (
    AccountRow,
    Batch,
    ContactRow,
    Cursor,
    OrderRow,
    Removed,
    Row,
    Skipped,
    TouchRow,
)
from bot.crm.values import as_money, as_text, maybe_when
from bot.retention.touch_kinds import touch_kind

# Engagement object types; each one's kind (and a task's `hs_task_type`) is read
# through the one table of touch words, `touch_kind`.
ENGAGEMENTS = ("calls", "emails", "meetings", "notes")
# Meetings that did not take place: never a touch (and taken back if one was imported).
MISSED_OUTCOMES = {"CANCELED", "CANCELLED", "NO_SHOW", "RESCHEDULED"}
NOTE_PROPERTY = {
    "calls": "hs_call_title",
    "emails": "hs_email_subject",
    "meetings": "hs_meeting_title",
    "notes": "hs_note_body",
    "tasks": "hs_task_subject",
}


@dataclass(frozen=True)
class HubSpotRecord:
    """One search result: its object type, id, properties and last-modified time."""

    object_type: str
    id: str
    properties: dict[str, Any]
    modified: datetime

    def key(self) -> tuple[datetime, int]:
        return (self.modified, int(self.id))


@dataclass(frozen=True)
class AccountFields:
    """Which company properties hold the annual value, tier and cadence (None: unused)."""

    annual_value: str | None
    tier: str | None
    cadence: str | None


@dataclass
class BatchBuilder:
    """Rows, removals and skipped records of one batch, in the order they were read."""

    rows: list[Row] = field(default_factory=list)
    removed: list[Removed] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def add(self, item: Row | Removed | Skipped) -> None:
        if isinstance(item, Skipped):
            self.skipped.append(item)
        elif isinstance(item, Removed):
            self.removed.append(item)
        else:
            self.rows.append(item)

    def batch(self, kind: str, last: HubSpotRecord) -> Batch:
        return Batch(
            kind,
            tuple(self.rows),
            tuple(self.removed),
            tuple(self.skipped),
            Cursor(last.modified, last.id),
        )


def add_accounts(
    out: BatchBuilder,
    records: list[HubSpotRecord],
    owners: dict[str, str],
    fields: AccountFields,
) -> None:
    """Companies as accounts; the companies merged into one arrive as its removals."""
    for r in records:
        out.add(account_row(r, owners, fields))
        for gone in filter(None, (r.properties.get("hs_merged_object_ids") or "").split(";")):
            out.add(Removed("accounts", gone.strip(), r.modified, merged_into=r.id))


def add_contacts(
    out: BatchBuilder, records: list[HubSpotRecord], companies: dict[str, str]
) -> None:
    """Contacts on their first company; one taken off its last company leaves it."""
    for r in records:
        p = r.properties
        if r.id not in companies:
            out.add(Removed("contacts", r.id, r.modified))
            continue
        name = " ".join(filter(None, (p.get("firstname"), p.get("lastname")))).strip()
        out.add(
            ContactRow(
                companies[r.id],
                name or (p.get("email") or ""),
                as_text(p.get("email")),
                as_text(p.get("jobtitle")),
                r.id,
            )
        )


def is_won(record: HubSpotRecord) -> bool:
    return (record.properties.get("hs_is_closed_won") or "") == "true"


def add_orders(
    out: BatchBuilder,
    records: list[HubSpotRecord],
    companies: dict[str, str],
    products: dict[str, list[str]],
) -> None:
    """Closed-won deals as orders; a deal not (or no longer) won is removed."""
    for r in records:
        out.add(
            order_row(r, companies, products) if is_won(r) else Removed("orders", r.id, r.modified)
        )


def add_touches(
    out: BatchBuilder,
    records: list[HubSpotRecord],
    companies: dict[tuple[str, str], str],
    owners: dict[str, str],
    touch_key_property: str,
) -> None:
    """Engagements and completed tasks as touches, on their first company."""
    for r in records:
        company = companies.get((r.object_type, r.id))
        out.add(touch_row(r, company, owners, touch_key_property))


def account_row(r: HubSpotRecord, owners: dict[str, str], fields: AccountFields) -> AccountRow:
    p = r.properties
    cadence = as_text(p.get(fields.cadence)) if fields.cadence else None
    return AccountRow(
        r.id,
        as_text(p.get("name")) or f"HubSpot company {r.id}",
        owners.get(p.get("hubspot_owner_id") or ""),
        as_text(p.get(fields.tier)) if fields.tier else None,
        as_money(p.get(fields.annual_value)) if fields.annual_value else None,
        int(Decimal(cadence)) if cadence and as_money(cadence) is not None else None,
    )


def order_row(
    r: HubSpotRecord, companies: dict[str, str], products: dict[str, list[str]]
) -> OrderRow | Skipped:
    p = r.properties
    if r.id not in companies:
        return Skipped(r.id, "deal is on no company")
    amount = as_money(p.get("amount"))
    if amount is None:
        return Skipped(r.id, f"deal has no amount (“{p.get('amount') or ''}”)")
    if not p.get("closedate"):
        return Skipped(r.id, "deal has no close date")
    closed = maybe_when(p["closedate"])
    if closed is None:
        return Skipped(r.id, f"closedate “{p['closedate']}” is not a date", malformed=True)
    names = products.get(r.id) or []
    return OrderRow(companies[r.id], closed, amount, r.id, "; ".join(names) or None)


def touch_row(
    r: HubSpotRecord, company: str | None, owners: dict[str, str], touch_key_property: str
) -> TouchRow | Skipped | Removed:
    p = r.properties
    if (p.get("hs_meeting_outcome") or "").upper() in MISSED_OUTCOMES:
        return Removed("touches", r.id, r.modified)
    if r.object_type == "tasks":
        if p.get("hs_task_status") != "COMPLETED":
            return Skipped(r.id, "task is not completed")
        kind = touch_kind(p.get("hs_task_type")) or "note"
    else:
        kind = touch_kind(r.object_type) or "note"
    if company is None:
        return Skipped(r.id, f"{r.object_type[:-1]} is on no company")
    when = maybe_when(p["hs_timestamp"]) if p.get("hs_timestamp") else r.modified
    if when is None:
        return Skipped(r.id, f"hs_timestamp “{p['hs_timestamp']}” is not a time", malformed=True)
    return TouchRow(
        company,
        when,
        kind,
        owners.get(p.get("hubspot_owner_id") or ""),
        as_text(p.get(NOTE_PROPERTY[r.object_type])),
        f"{r.object_type}:{r.id}",
        as_text(p.get(touch_key_property)),
    )
