"""HubSpot as a live source, through the official `hubspot-api-client`.

What maps to what:
- companies -> accounts (owner by the owners API's e-mail; `annualrevenue` as the
  annual value unless configured otherwise); a company that absorbed others in a
  merge lists them in `hs_merged_object_ids`, and each arrives as `Removed(...,
  merged_into=survivor)`.
- contacts -> contacts, on their first associated company.
- deals -> orders when closed-won (`hs_is_closed_won`), one order per deal, its
  line items' names as the product; a deal that is not (or no longer) won
  arrives as `Removed`, so a re-opened deal stops counting as an order.
- calls, emails, meetings, notes and completed tasks -> touches, on their first
  associated company; activities Rebuy wrote itself carry `rebuy_touch_id`.
- archived records of each kind -> the kind's "removed" stream.

Incremental reads use the CRM search API: last-modified time after the cursor
(or equal with a larger id), sorted ascending, paged with `after`; search stops
at 10,000 results, so a long pull restarts the search from the last record read.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from hubspot import Client
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
from hubspot.crm.objects import (
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
)
from urllib3.util.retry import Retry

from bot.clock import as_utc
from bot.crm.base import (
    KINDS,
    Batch,
    Cursor,
    Removed,
    RetryPolicy,
    SourceError,
    base_kind,
    is_removed_stream,
    removed_kind,
    with_retries,
)
from bot.crm.hubspot_api import after_cursor, classify, modified_property
from bot.crm.hubspot_rows import (
    ENGAGEMENTS,
    NOTE_PROPERTY,
    AccountFields,
    BatchBuilder,
    HubSpotRecord,
    add_accounts,
    add_contacts,
    add_orders,
    add_touches,
    is_won,
)
from bot.crm.values import as_when

SOURCE = "HubSpot"
SEARCH_RESULT_CAP = 10_000  # HubSpot's search never pages past this many results
_OBJECTS = {"accounts": ("companies",), "contacts": ("contacts",), "orders": ("deals",)}
_OBJECTS["touches"] = (*ENGAGEMENTS, "tasks")


@dataclass(frozen=True)
class HubSpotSettings:
    """How to reach a portal and read its records. The token comes from the environment."""

    access_token: str
    host: str | None = None  # None: HubSpot's own API; tests point it at the double
    page_size: int = 100
    annual_value_property: str | None = "annualrevenue"
    tier_property: str | None = None
    cadence_property: str | None = None
    touch_key_property: str = "rebuy_touch_id"
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def client(self) -> Client:
        # Every retry is Rebuy's (`retry`: logged, Retry-After honoured once, a wait the
        # tests can see); urllib3's default would otherwise sleep out a 429's Retry-After
        # itself, unseen, before Rebuy's policy even hears of it.
        no_retries = Retry(total=0, respect_retry_after_header=False, raise_on_status=False)
        options: dict[str, Any] = {"access_token": self.access_token, "retry": no_retries}
        if self.host:
            options["host"] = self.host.rstrip("/")
        return Client.create(**options)


class HubSpotSource:
    """Pulls accounts, contacts, orders and touches (and their removals) from HubSpot."""

    name = "hubspot"
    streams = (*KINDS, *(removed_kind(k) for k in KINDS))

    def __init__(self, settings: HubSpotSettings, *, client: Client | None = None) -> None:
        self.settings = settings
        self.client = client or settings.client()
        self._owner_emails: dict[str, str] | None = None

    # -- the Source protocol -------------------------------------------------
    def pull(self, kind: str, cursor: Cursor | None = None) -> Iterator[Batch]:
        if kind not in self.streams:
            raise SourceError(
                f"HubSpot has no “{kind}” to sync; choose one of {', '.join(self.streams)}."
            )
        if is_removed_stream(kind):
            yield from self._pull_archived(kind, cursor)
            return
        object_types = _OBJECTS[kind]
        merged = heapq.merge(
            *(self._search(t, self._properties(kind, t), cursor) for t in object_types),
            key=HubSpotRecord.key,
        )
        while chunk := list(islice(merged, self.settings.page_size)):
            yield self._batch(kind, chunk)

    # -- reading ----------------------------------------------------------------
    def _call(self, what: str, call: Any) -> Any:
        return with_retries(
            call, policy=self.settings.retry, classify=classify, source=SOURCE, what=what
        )

    def _search(
        self, object_type: str, properties: list[str], cursor: Cursor | None
    ) -> Iterator[HubSpotRecord]:
        """Every record modified after `cursor`, oldest first, past the 10,000-result cap."""
        modified = modified_property(object_type)
        limit = min(self.settings.page_size, 200)
        while True:
            request_after: str | None = None
            read = 0
            last: HubSpotRecord | None = None
            while True:
                request = PublicObjectSearchRequest(
                    filter_groups=after_cursor(modified, cursor),
                    sorts=[{"propertyName": modified, "direction": "ASCENDING"}],
                    properties=properties,
                    limit=limit,
                    after=request_after,
                )
                page = self._call(
                    f"{object_type} (search)",
                    lambda r=request: self.client.crm.objects.search_api.do_search(
                        object_type=object_type, public_object_search_request=r
                    ),
                )
                for result in page.results:
                    props = result.properties or {}
                    stamp = props.get(modified) or result.updated_at
                    last = HubSpotRecord(object_type, str(result.id), props, as_when(stamp))
                    yield last
                read += len(page.results)
                nxt = page.paging.next.after if page.paging and page.paging.next else None
                if nxt is None:
                    return
                if read + limit > SEARCH_RESULT_CAP:
                    break  # restart the search from the last record read
                request_after = nxt
            assert last is not None
            cursor = Cursor(last.modified, last.id)

    def _properties(self, kind: str, object_type: str) -> list[str]:
        s = self.settings
        if kind == "accounts":
            extra = [s.annual_value_property, s.tier_property, s.cadence_property]
            return ["name", "hubspot_owner_id", "hs_merged_object_ids", *filter(None, extra)]
        if kind == "contacts":
            return ["firstname", "lastname", "email", "jobtitle"]
        if kind == "orders":
            return ["dealname", "amount", "closedate", "hs_is_closed_won", "dealstage"]
        props = ["hs_timestamp", "hubspot_owner_id", NOTE_PROPERTY[object_type]]
        if object_type == "tasks":
            props += ["hs_task_status", "hs_task_type"]
        if object_type == "meetings":
            props += ["hs_meeting_outcome"]
        return [*props, s.touch_key_property]

    def _companies_of(self, object_type: str, ids: list[str]) -> dict[str, str]:
        return {k: v[0] for k, v in self._associated(object_type, "companies", ids).items()}

    def _associated(self, from_type: str, to_type: str, ids: list[str]) -> dict[str, list[str]]:
        if not ids:
            return {}
        body = BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": i} for i in ids])
        answer = self._call(
            f"{from_type}→{to_type} associations",
            lambda: self.client.crm.associations.v4.batch_api.get_page(
                from_object_type=from_type,
                to_object_type=to_type,
                batch_input_public_fetch_associations_batch_request=body,
            ),
        )
        return {
            str(r._from.id): sorted((str(t.to_object_id) for t in r.to), key=int)
            for r in answer.results
            if r.to
        }

    def owner_emails(self) -> dict[str, str]:
        """Owner id -> lower-cased e-mail (the write-back maps reps to owners with it)."""
        return dict(self._owners())

    def _owners(self) -> dict[str, str]:
        """Owner id -> e-mail, read once per source (owners rarely change during a sync)."""
        if self._owner_emails is None:
            emails: dict[str, str] = {}
            after = None
            while True:
                page = self._call(
                    "owners",
                    lambda a=after: self.client.crm.owners.owners_api.get_page(limit=500, after=a),
                )
                for owner in page.results:
                    if owner.email:
                        emails[str(owner.id)] = owner.email.strip().lower()
                if not (page.paging and page.paging.next):
                    break
                after = page.paging.next.after
            self._owner_emails = emails
        return self._owner_emails

    def _line_item_names(self, deal_ids: list[str]) -> dict[str, list[str]]:
        links = self._associated("deals", "line_items", deal_ids)
        wanted = sorted({i for items in links.values() for i in items}, key=int)
        names: dict[str, str] = {}
        for start in range(0, len(wanted), 100):
            body = BatchReadInputSimplePublicObjectId(
                inputs=[{"id": i} for i in wanted[start : start + 100]],
                properties=["name"],
                properties_with_history=[],
            )
            answer = self._call(
                "line items",
                lambda b=body: self.client.crm.objects.batch_api.read(
                    object_type="line_items", batch_read_input_simple_public_object_id=b
                ),
            )
            names.update(
                {str(r.id): (r.properties or {}).get("name") or "" for r in answer.results}
            )
        return {deal: [names[i] for i in items if names.get(i)] for deal, items in links.items()}

    def _pull_archived(self, stream: str, cursor: Cursor | None) -> Iterator[Batch]:
        """Records deleted in HubSpot (kept archived for 90 days), archived after `cursor`."""
        kind = base_kind(stream)
        found: list[tuple[datetime, int, str]] = []
        for object_type in _OBJECTS[kind]:
            after = None
            while True:
                page = self._call(
                    f"archived {object_type}",
                    lambda t=object_type, a=after: self.client.crm.objects.basic_api.get_page(
                        object_type=t, limit=100, after=a, archived=True
                    ),
                )
                for result in page.results:
                    when = as_utc(result.archived_at or result.updated_at)
                    found.append((when, int(result.id), object_type))
                if not (page.paging and page.paging.next):
                    break
                after = page.paging.next.after
        found.sort()
        if cursor is not None:
            found = [f for f in found if (f[0], f[1]) > (cursor.modified_at, int(cursor.record_id))]
        for start in range(0, len(found), self.settings.page_size):
            chunk = found[start : start + self.settings.page_size]
            removed = tuple(Removed(kind, str(rid), when) for when, rid, _ in chunk)
            last = chunk[-1]
            yield Batch(stream, removed=removed, cursor=Cursor(last[0], str(last[1])))

    # -- rows ---------------------------------------------------------------------
    def _batch(self, kind: str, records: list[HubSpotRecord]) -> Batch:
        out = BatchBuilder()
        s = self.settings
        if kind == "accounts":
            fields = AccountFields(s.annual_value_property, s.tier_property, s.cadence_property)
            add_accounts(out, records, self._owners(), fields)
        elif kind == "contacts":
            add_contacts(out, records, self._companies_of("contacts", [r.id for r in records]))
        elif kind == "orders":
            won = [r.id for r in records if is_won(r)]
            companies = self._companies_of("deals", won)
            add_orders(out, records, companies, self._line_item_names(won))
        else:
            by_type: dict[str, list[str]] = {}
            for r in records:
                by_type.setdefault(r.object_type, []).append(r.id)
            companies = {
                (t, i): c
                for t, ids in by_type.items()
                for i, c in self._companies_of(t, ids).items()
            }
            add_touches(out, records, companies, self._owners(), s.touch_key_property)
        return out.batch(kind, records[-1])
