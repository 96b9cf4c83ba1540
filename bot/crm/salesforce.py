"""Salesforce as a live source, through `simple-salesforce` (REST query / queryAll).

What maps to what:
- Account -> accounts (owner's e-mail via `Owner.Email`, `AnnualRevenue` as the
  annual value unless configured otherwise).
- Contact -> contacts; Opportunity -> orders when `IsWon`, one order per
  opportunity (a re-opened or lost one arrives as `Removed`).
- Task (completed) and Event -> touches on their `AccountId`; Tasks Rebuy wrote
  carry `Rebuy_Touch_Id__c`.
- deleted records (recycle bin, via queryAll and `IsDeleted = true`) -> the
  kind's "removed" stream; an account merged away has `MasterRecordId`, which
  becomes `Removed(..., merged_into=master)`.

Incremental by `SystemModstamp`, ordered by (SystemModstamp, Id) so the cursor's
id breaks ties exactly; pages follow `nextRecordsUrl`.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime
from itertools import islice
from typing import Any

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from bot.crm.base import (
    KINDS,
    AccountRow,
    Batch,
    ContactRow,
    Cursor,
    Failure,
    OrderRow,
    Removed,
    RetryPolicy,
    Row,
    Skipped,
    SourceAuthError,
    SourceError,
    SourcePermissionError,
    TouchRow,
    base_kind,
    is_removed_stream,
    removed_kind,
    with_retries,
)
from bot.crm.salesforce_auth import SalesforceCredentials
from bot.crm.values import as_money, as_text, as_when, maybe_when
from bot.retention.touch_kinds import touch_kind

SOURCE = "Salesforce"
TOUCH_KEY_FIELD = "Rebuy_Touch_Id__c"
_OBJECTS = {
    "accounts": ("Account",),
    "contacts": ("Contact",),
    "orders": ("Opportunity",),
    "touches": ("Task", "Event"),
}


@dataclass(frozen=True)
class SalesforceSettings:
    """An org's instance URL and an access token (session id) from the environment."""

    instance_url: str
    session_id: str
    version: str = "59.0"
    annual_value_field: str | None = "AnnualRevenue"
    tier_field: str | None = None
    cadence_field: str | None = None
    page_size: int = 200  # rows per yielded batch (Salesforce pages by up to 2,000)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    session: requests.Session | None = field(default=None, compare=False)
    # How the session was obtained (a login): then an expired session is renewed.
    credentials: SalesforceCredentials | None = field(default=None, compare=False)

    @classmethod
    def logged_in(cls, credentials: SalesforceCredentials, **options: Any) -> SalesforceSettings:
        """Settings with a fresh session from `credentials` (renewed when it expires)."""
        session_id, instance = credentials.login()
        return cls(instance_url=instance, session_id=session_id, credentials=credentials, **options)

    def client(self) -> Salesforce:
        return Salesforce(
            instance_url=self.instance_url,
            session_id=self.session_id,
            version=self.version,
            session=self.session,
        )


def classify(error: Exception) -> Failure | None:
    """An exception from simple-salesforce as a status (Salesforce sends no Retry-After)."""
    if isinstance(error, SalesforceError):
        return Failure(error.status)
    if isinstance(error, requests.ConnectionError | requests.Timeout):
        return Failure(None)
    return None


@dataclass(frozen=True)
class _Record:
    sobject: str
    id: str
    fields: dict[str, Any]
    modified: datetime

    def key(self) -> tuple[datetime, str]:
        return (self.modified, self.id)


class SalesforceSession:
    """A client whose calls are retried, and whose expired session is renewed once by
    logging in again when the settings carry credentials."""

    def __init__(self, settings: SalesforceSettings, *, client: Salesforce | None = None) -> None:
        self.settings = settings
        self.client = client or settings.client()

    def _call(self, what: str, call: Any) -> Any:
        try:
            return self._retried(what, call)
        except SourcePermissionError:
            raise
        except SourceAuthError:
            credentials = self.settings.credentials
            if credentials is None:
                raise
            session_id, instance = credentials.login()
            self.settings = replace(self.settings, session_id=session_id, instance_url=instance)
            self.client = self.settings.client()
            return self._retried(what, call)  # `call` reads self.client: the new session

    def _retried(self, what: str, call: Any) -> Any:
        return with_retries(
            call, policy=self.settings.retry, classify=classify, source=SOURCE, what=what
        )


class SalesforceSource(SalesforceSession):
    """Pulls accounts, contacts, orders and touches (and deletions) from a Salesforce org."""

    name = "salesforce"
    streams = (*KINDS, *(removed_kind(k) for k in KINDS))

    def pull(self, kind: str, cursor: Cursor | None = None) -> Iterator[Batch]:
        if kind not in self.streams:
            raise SourceError(
                f"Salesforce has no “{kind}” to sync; choose one of {', '.join(self.streams)}."
            )
        deleted = is_removed_stream(kind)
        plain = base_kind(kind)
        merged = heapq.merge(
            *(self._query(o, self._fields(o, deleted), cursor, deleted) for o in _OBJECTS[plain]),
            key=_Record.key,
        )
        while chunk := list(islice(merged, self.settings.page_size)):
            yield self._batch(kind, plain, chunk, deleted)

    # -- reading ----------------------------------------------------------------
    def _fields(self, sobject: str, deleted: bool) -> list[str]:
        s = self.settings
        if deleted:
            return ["Id", "SystemModstamp", *(["MasterRecordId"] if sobject == "Account" else [])]
        common = ["Id", "SystemModstamp"]
        if sobject == "Account":
            extra = [s.annual_value_field, s.tier_field, s.cadence_field]
            return [*common, "Name", "Owner.Email", *filter(None, extra)]
        if sobject == "Contact":
            return [*common, "AccountId", "Name", "Email", "Title"]
        if sobject == "Opportunity":
            return [*common, "AccountId", "Name", "Amount", "CloseDate", "IsWon"]
        if sobject == "Task":
            return [
                *common,
                "AccountId",
                "Owner.Email",
                "Subject",
                "TaskSubtype",
                "Type",
                "Status",
                "IsClosed",
                "ActivityDate",
                "CompletedDateTime",
                TOUCH_KEY_FIELD,
            ]
        return [*common, "AccountId", "Owner.Email", "Subject", "Type", "ActivityDateTime"]

    def _query(
        self, sobject: str, fields: list[str], cursor: Cursor | None, deleted: bool
    ) -> Iterator[_Record]:
        where = []
        if deleted:
            where.append("IsDeleted = true")
        if cursor is not None:
            stamp = cursor.modified_at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            where.append(
                f"(SystemModstamp > {stamp} OR "
                f"(SystemModstamp = {stamp} AND Id > '{soql_text(cursor.record_id)}'))"
            )
        soql = f"SELECT {', '.join(fields)} FROM {sobject}"
        if where:
            soql += " WHERE " + " AND ".join(where)
        soql += " ORDER BY SystemModstamp, Id"
        page = self._call(
            f"{sobject} (query)", lambda: self.client.query(soql, include_deleted=deleted)
        )
        while True:
            for r in page["records"]:
                yield _Record(sobject, r["Id"], r, as_when(r["SystemModstamp"]))
            if page.get("done", True):
                return
            url = page["nextRecordsUrl"]
            page = self._call(
                f"{sobject} (next page)",
                lambda u=url: self.client.query_more(u, identifier_is_url=True),
            )

    # -- rows ---------------------------------------------------------------------
    def _batch(self, stream: str, kind: str, records: list[_Record], deleted: bool) -> Batch:
        rows: list[Row] = []
        removed: list[Removed] = []
        skipped: list[Skipped] = []
        for r in records:
            f = r.fields
            if deleted:
                master = f.get("MasterRecordId") if r.sobject == "Account" else None
                removed.append(Removed(kind, r.id, r.modified, merged_into=master or None))
                continue
            if kind == "accounts":
                rows.append(self._account(r))
                continue
            account = f.get("AccountId")
            if not account and kind == "contacts":
                # Taken off its account: it leaves the account it was on.
                removed.append(Removed("contacts", r.id, r.modified))
                continue
            if not account:
                skipped.append(Skipped(r.id, f"{r.sobject} is on no account"))
                continue
            if kind == "contacts":
                rows.append(
                    ContactRow(
                        account,
                        f.get("Name") or "",
                        as_text(f.get("Email")),
                        as_text(f.get("Title")),
                        r.id,
                    )
                )
            elif kind == "orders":
                if not f.get("IsWon"):
                    removed.append(Removed("orders", r.id, r.modified))
                    continue
                amount = as_money(f.get("Amount"))
                if amount is None or not f.get("CloseDate"):
                    skipped.append(Skipped(r.id, "opportunity has no amount or close date"))
                    continue
                closed = maybe_when(f["CloseDate"])
                if closed is None:
                    reason = f"CloseDate “{f['CloseDate']}” is not a date"
                    skipped.append(Skipped(r.id, reason, malformed=True))
                    continue
                rows.append(OrderRow(account, closed, amount, r.id, None))
            else:
                touch = self._touch(r, account)
                (skipped if isinstance(touch, Skipped) else rows).append(touch)  # type: ignore[arg-type]
        last = records[-1]
        return Batch(
            stream, tuple(rows), tuple(removed), tuple(skipped), Cursor(last.modified, last.id)
        )

    def _account(self, r: _Record) -> AccountRow:
        f, s = r.fields, self.settings
        cadence = as_money(f.get(s.cadence_field)) if s.cadence_field else None
        return AccountRow(
            r.id,
            as_text(f.get("Name")) or f"Salesforce account {r.id}",
            _owner_email(f),
            as_text(f.get(s.tier_field)) if s.tier_field else None,
            as_money(f.get(s.annual_value_field)) if s.annual_value_field else None,
            int(cadence) if cadence is not None else None,
        )

    def _touch(self, r: _Record, account: str) -> TouchRow | Skipped:
        f = r.fields
        if r.sobject == "Task":
            if not f.get("IsClosed") and f.get("Status") != "Completed":
                return Skipped(r.id, "task is not completed")
            kind = touch_kind(f.get("TaskSubtype") or f.get("Type")) or "note"
            when = f.get("CompletedDateTime") or f.get("ActivityDate") or f["SystemModstamp"]
        else:
            kind = "visit" if (f.get("Type") or "").strip().lower() == "visit" else "meeting"
            when = f.get("ActivityDateTime") or f["SystemModstamp"]
        at = maybe_when(when)
        if at is None:
            return Skipped(r.id, f"the activity's date “{when}” is not a time", malformed=True)
        return TouchRow(
            account,
            at,
            kind,
            _owner_email(f),
            as_text(f.get("Subject")),
            f"{r.sobject}:{r.id}",
            as_text(f.get(TOUCH_KEY_FIELD)),
        )


def _owner_email(fields: dict[str, Any]) -> str | None:
    owner = fields.get("Owner") or {}
    email = as_text(owner.get("Email")) if isinstance(owner, dict) else None
    return email.lower() if email else None


def soql_text(text: str) -> str:
    """`text` as a SOQL string literal's contents (quotes and backslashes escaped)."""
    return text.replace("\\", "\\\\").replace("'", "\\'")
