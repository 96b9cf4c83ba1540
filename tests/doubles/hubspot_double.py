"""A local double of HubSpot's CRM REST API, for the official `hubspot-api-client`.

    with HubSpotDouble() as hubspot:
        hubspot.generate(companies=100, deals=500, activities=1000)
        client = hubspot.Client.create(access_token=hubspot.token, host=hubspot.url)

Shapes follow HubSpot's public reference (CRM v3 objects, search, batch read and
upsert; v4 associations batch read and default associations; v3 owners):
every property value is a string, times are ISO-8601 UTC, contacts keep their
last-modified time in `lastmodifieddate` and every other object in
`hs_lastmodifieddate`. Search answers at most 200 a page and never past the
10,000th result (HTTP 400), ANDs the filters of a group and ORs the groups.

Faults: `fail_next(500)`, `expire_token()` (401 EXPIRED_AUTHENTICATION), and
rate limits in HubSpot's ten-second window (`rate_limit=(max, seconds)`, answered
429 with the X-HubSpot-RateLimit-* headers, Retry-After only when
`retry_after=True`). `advance(seconds)` moves the window's clock.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.doubles.http_double import Answer, HttpDouble, Request, not_found

ENGAGEMENTS = ("calls", "emails", "meetings", "notes", "tasks")
OBJECT_TYPES = ("companies", "contacts", "deals", "line_items", *ENGAGEMENTS)
# HubSpot-defined association type ids (from -> to), as the v4 API reports them.
ASSOCIATION_TYPE_IDS = {
    ("contacts", "companies"): 279,
    ("deals", "companies"): 341,
    ("deals", "line_items"): 19,
    ("calls", "companies"): 182,
    ("emails", "companies"): 186,
    ("meetings", "companies"): 188,
    ("notes", "companies"): 190,
    ("tasks", "companies"): 192,
}
SEARCH_MAX_LIMIT = 200
SEARCH_MAX_RESULTS = 10_000
_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def modified_property(object_type: str) -> str:
    return "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _ms(value: str) -> int:
    """A filter value: epoch milliseconds or an ISO-8601 time."""
    if value.lstrip("-").isdigit():
        return int(value)
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


@dataclass
class Record:
    object_type: str
    id: str
    properties: dict[str, str]
    created: int
    modified: int
    archived_at: int | None = None

    def key(self) -> tuple[int, int]:
        return (self.modified, int(self.id))


@dataclass
class _Table:
    records: dict[str, Record] = field(default_factory=dict)
    order: list[tuple[int, int]] = field(default_factory=list)  # live records by (modified, id)
    dirty: bool = True

    def sorted_keys(self) -> list[tuple[int, int]]:
        if self.dirty:
            self.order = sorted(r.key() for r in self.records.values() if r.archived_at is None)
            self.dirty = False
        return self.order


class HubSpotDouble(HttpDouble):
    def __init__(
        self,
        *,
        token: str = "pat-na1-test",
        rate_limit: tuple[int, float] | None = None,
        retry_after: bool = False,
        unique_properties: tuple[str, ...] = ("rebuy_touch_id",),
    ) -> None:
        super().__init__()
        self.token = token
        self.token_expired = False
        # Scopes the private app was NOT granted: calls needing one get HubSpot's 403.
        self.missing_scopes: set[str] = set()
        self.rate_limit = rate_limit
        self.retry_after = retry_after
        self.unique_properties = set(unique_properties)
        self.tables: dict[str, _Table] = {t: _Table() for t in OBJECT_TYPES}
        self.associations: dict[tuple[str, str], dict[str, list[str]]] = {}
        self.owners: list[dict[str, Any]] = []
        self._ids = itertools.count(1001)
        self._clock_ms = int(_EPOCH.timestamp() * 1000)
        self._window: tuple[int, int] = (-1, 0)  # (window index, requests in it)
        self._searches: dict[str, dict[int, int]] = {}
        self._data_lock = threading.RLock()

    # -- data ------------------------------------------------------------------
    def next_ms(self) -> int:
        """A modification time after every other one in the double."""
        self._clock_ms += 1000
        return self._clock_ms

    def add(
        self,
        object_type: str,
        properties: dict[str, Any],
        *,
        modified_ms: int | None = None,
        companies: tuple[str, ...] = (),
        line_items: tuple[str, ...] = (),
        record_id: str | None = None,
    ) -> str:
        """Store a record (and its associations); returns its id."""
        with self._data_lock:
            rid = record_id or str(next(self._ids))
            when = self.next_ms() if modified_ms is None else modified_ms
            self._clock_ms = max(self._clock_ms, when)
            props = {k: ("" if v is None else str(v)) for k, v in properties.items()}
            props["hs_object_id"] = rid
            props["createdate"] = iso_ms(when)
            props[modified_property(object_type)] = iso_ms(when)
            table = self.tables[object_type]
            table.records[rid] = Record(object_type, rid, props, when, when)
            table.dirty = True
            for company in companies:
                self.associate(object_type, rid, "companies", company)
            for item in line_items:
                self.associate(object_type, rid, "line_items", item)
            self._searches.clear()
            return rid

    def associate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        with self._data_lock:
            forward = self.associations.setdefault((from_type, to_type), {})
            if to_id not in forward.setdefault(from_id, []):
                forward[from_id].append(to_id)
            back = self.associations.setdefault((to_type, from_type), {})
            if from_id not in back.setdefault(to_id, []):
                back[to_id].append(from_id)

    def dissociate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Take a record off another (a contact off its company); like the HubSpot UI, this
        moves the record's last-modified time."""
        with self._data_lock:
            for a, b, x, y in (
                (from_type, to_type, from_id, to_id),
                (to_type, from_type, to_id, from_id),
            ):
                targets = self.associations.get((a, b), {}).get(x, [])
                if y in targets:
                    targets.remove(y)
            self._touch(from_type, self.tables[from_type].records[from_id])

    def update(self, object_type: str, record_id: str, **properties: Any) -> None:
        """Change a record as a user would: new values and a new last-modified time."""
        with self._data_lock:
            record = self.tables[object_type].records[record_id]
            record.properties.update({k: str(v) for k, v in properties.items()})
            self._touch(object_type, record)

    def _touch(self, object_type: str, record: Record) -> None:
        record.modified = self.next_ms()
        record.properties[modified_property(object_type)] = iso_ms(record.modified)
        self.tables[object_type].dirty = True
        self._searches.clear()

    def archive(self, object_type: str, record_id: str) -> None:
        """Delete a record (HubSpot keeps it, archived, for 90 days)."""
        with self._data_lock:
            record = self.tables[object_type].records[record_id]
            record.archived_at = self.next_ms()
            self.tables[object_type].dirty = True
            self._searches.clear()

    def merge_companies(self, primary: str, merged: str) -> None:
        """Merge `merged` into `primary`: the survivor lists it in hs_merged_object_ids."""
        with self._data_lock:
            companies = self.tables["companies"]
            gone = companies.records.pop(merged)
            for (from_type, to_type), links in list(self.associations.items()):
                if to_type == "companies":
                    for targets in links.values():
                        if merged in targets:
                            targets.remove(merged)
                            if primary not in targets:
                                targets.append(primary)
                if from_type == "companies" and merged in links:
                    links.setdefault(primary, []).extend(links.pop(merged))
            survivor = companies.records[primary]
            ids = [i for i in survivor.properties.get("hs_merged_object_ids", "").split(";") if i]
            survivor.properties["hs_merged_object_ids"] = ";".join([*ids, gone.id])
            self._touch("companies", survivor)

    def add_owner(self, email: str, first: str = "Rep", last: str = "") -> str:
        owner_id = str(len(self.owners) + 101)
        stamp = iso_ms(self._clock_ms)
        self.owners.append(
            {
                "id": owner_id,
                "email": email,
                "firstName": first,
                "lastName": last,
                "userId": int(owner_id) * 7,
                "type": "PERSON",
                "createdAt": stamp,
                "updatedAt": stamp,
                "archived": False,
            }
        )
        return owner_id

    def generate(
        self,
        *,
        companies: int = 100,
        contacts: int | None = None,
        deals: int = 500,
        activities: int = 1000,
        owners: int = 20,
        line_item_share: float = 0.1,
        seed: int = 14,
    ) -> None:
        """A realistic portal: every deal closed-won or lost on a company, activities on companies.

        Times are spread over a year before the double's clock; about 1 % of the
        activities are on no company (a sync must skip and count them).
        """
        rng = random.Random(seed)
        contacts = companies * 2 if contacts is None else contacts
        owner_ids = [self.add_owner(f"rep{n}@example.com", "Rep", str(n)) for n in range(owners)]
        start = self._clock_ms
        span = 365 * 86_400_000

        def when() -> int:
            return start + rng.randrange(span)

        company_ids = []
        for n in range(companies):
            company_ids.append(
                self.add(
                    "companies",
                    {
                        "name": f"Company {n}",
                        "domain": f"company{n}.example.com",
                        "hubspot_owner_id": rng.choice(owner_ids),
                        "annualrevenue": str(rng.randrange(10, 500) * 1000),
                    },
                    modified_ms=when(),
                )
            )
        for n in range(contacts):
            self.add(
                "contacts",
                {
                    "firstname": f"First{n}",
                    "lastname": f"Last{n}",
                    "email": f"contact{n}@example.org",
                    "jobtitle": "Buyer",
                },
                modified_ms=when(),
                companies=(rng.choice(company_ids),),
            )
        for n in range(deals):
            items: tuple[str, ...] = ()
            if rng.random() < line_item_share:
                items = tuple(
                    self.add(
                        "line_items",
                        {"name": f"Product {rng.randrange(40)}", "amount": "100", "quantity": "1"},
                        modified_ms=when(),
                    )
                    for _ in range(rng.randrange(1, 4))
                )
            won = rng.random() < 0.8
            closed = when()
            self.add(
                "deals",
                {
                    "dealname": f"Deal {n}",
                    "amount": f"{rng.randrange(100, 50_000)}.{rng.randrange(100):02d}",
                    "closedate": iso_ms(closed),
                    "dealstage": "closedwon" if won else "closedlost",
                    "hs_is_closed_won": "true" if won else "false",
                    "pipeline": "default",
                    "hubspot_owner_id": rng.choice(owner_ids),
                },
                modified_ms=closed,
                companies=(rng.choice(company_ids),),
                line_items=items,
            )
        for n in range(activities):
            kind = ENGAGEMENTS[n % len(ENGAGEMENTS)]
            stamp = when()
            props = {"hs_timestamp": iso_ms(stamp), "hubspot_owner_id": rng.choice(owner_ids)}
            props.update(_engagement_text(kind, n))
            on = () if rng.random() < 0.01 else (rng.choice(company_ids),)
            self.add(kind, props, modified_ms=stamp, companies=on)
        self._clock_ms = start + span

    def live(self, object_type: str) -> list[Record]:
        return [r for r in self.tables[object_type].records.values() if r.archived_at is None]

    # -- HTTP --------------------------------------------------------------------
    def error_body(self, status: int) -> Any:
        return {
            "status": "error",
            "message": "internal error" if status >= 500 else f"HTTP {status}",
            "correlationId": "00000000-0000-0000-0000-000000000000",
            "category": "INTERNAL_ERROR" if status >= 500 else "VALIDATION_ERROR",
        }

    def expire_token(self) -> None:
        self.token_expired = True

    def before(self, request: Request) -> Answer | None:
        auth = request.headers.get("authorization", "")
        if auth != f"Bearer {self.token}" or self.token_expired:
            expired = self.token_expired and auth == f"Bearer {self.token}"
            return Answer(
                401,
                {
                    "status": "error",
                    "message": (
                        "The OAuth token used to make this call expired 2 minute(s) ago."
                        if expired
                        else "Authentication credentials not found."
                    ),
                    "correlationId": "00000000-0000-0000-0000-000000000001",
                    "category": "EXPIRED_AUTHENTICATION" if expired else "INVALID_AUTHENTICATION",
                },
            )
        needed = required_scopes(request.method, request.path)
        if needed & self.missing_scopes:
            return Answer(
                403,
                {
                    "status": "error",
                    "message": "This app hasn't been granted all required scopes to make this "
                    "call. Read more about required scopes here: "
                    "https://developers.hubspot.com/scopes.",
                    "correlationId": "00000000-0000-0000-0000-000000000006",
                    "errors": [
                        {
                            "message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": sorted(needed)},
                        }
                    ],
                    "links": {"scopes": "https://developers.hubspot.com/scopes"},
                    "category": "MISSING_SCOPES",
                },
            )
        if self.rate_limit is not None:
            limit, seconds = self.rate_limit
            with self._lock:
                window = int(self.now() // seconds)
                index, used = self._window
                used = used + 1 if index == window else 1
                self._window = (window, used)
            if used > limit:
                headers = {
                    "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(seconds * 1000)),
                    "X-HubSpot-RateLimit-Max": str(limit),
                    "X-HubSpot-RateLimit-Remaining": "0",
                }
                if self.retry_after:
                    headers["Retry-After"] = str(max(1, int(seconds)))
                return Answer(
                    429,
                    {
                        "status": "error",
                        "message": "You have reached your ten_secondly_rolling limit.",
                        "errorType": "RATE_LIMIT",
                        "correlationId": "00000000-0000-0000-0000-000000000002",
                        "policyName": "TEN_SECONDLY_ROLLING",
                    },
                    headers,
                )
        return None

    # Complexity over 12 on purpose: one branch per HubSpot endpoint the double serves, as a flat
    # table reads best.
    def route(self, request: Request) -> Answer:  # noqa: C901
        parts = [p for p in request.path.split("/") if p]
        with self._data_lock:
            if parts[:3] == ["crm", "v3", "owners"] and request.method == "GET":
                return self._owners(request)
            if parts[:3] == ["crm", "v3", "objects"] and len(parts) >= 4:
                object_type = parts[3]
                if object_type not in self.tables:
                    raise not_found()
                rest = parts[4:]
                if rest == ["search"] and request.method == "POST":
                    return self._search(object_type, request.body or {})
                if rest == [] and request.method == "GET":
                    return self._list(object_type, request)
                if rest == [] and request.method == "POST":
                    return self._create(object_type, request.body or {})
                if rest == ["batch", "read"] and request.method == "POST":
                    return self._batch_read(object_type, request.body or {})
                if rest == ["batch", "upsert"] and request.method == "POST":
                    return self._upsert(object_type, request.body or {})
                if len(rest) == 1 and request.method == "DELETE":
                    record = self.tables[object_type].records.get(rest[0])
                    if record is not None and record.archived_at is None:
                        self.archive(object_type, rest[0])
                    return Answer(204, None)  # HubSpot answers 204 for unknown ids too
            if parts[:3] == ["crm", "v4", "associations"] and len(parts) == 7:
                from_type, to_type = parts[3], parts[4]
                if parts[5:] == ["batch", "read"] and request.method == "POST":
                    return self._associations_read(from_type, to_type, request.body or {})
                if parts[5:] == ["batch", "associate"]:
                    raise not_found()
            if (
                parts[:3] == ["crm", "v4", "associations"]
                and parts[5:] == ["batch", "associate", "default"]
                and request.method == "POST"
            ):
                return self._associate_default(parts[3], parts[4], request.body or {})
        raise not_found()

    def _object(self, record: Record, properties: list[str] | None) -> dict[str, Any]:
        props = record.properties
        modified = modified_property(record.object_type)
        names = ["hs_object_id", "createdate", modified, *(properties or [])]
        body: dict[str, Any] = {
            "id": record.id,
            "properties": {n: props.get(n) for n in names},
            "createdAt": iso_ms(record.created),
            "updatedAt": iso_ms(record.modified),
            "archived": record.archived_at is not None,
        }
        if record.archived_at is not None:
            body["archivedAt"] = iso_ms(record.archived_at)
        return body

    def _bad(self, message: str) -> Answer:
        return Answer(
            400,
            {
                "status": "error",
                "message": message,
                "correlationId": "00000000-0000-0000-0000-000000000003",
                "category": "VALIDATION_ERROR",
            },
        )

    def _search(self, object_type: str, body: dict[str, Any]) -> Answer:
        limit = int(body.get("limit") or 10)
        if limit > SEARCH_MAX_LIMIT:
            return self._bad(f"limit must be {SEARCH_MAX_LIMIT} or less")
        after = int(body.get("after") or 0)
        if after + limit > SEARCH_MAX_RESULTS:
            return self._bad(
                f"Search can't page past {SEARCH_MAX_RESULTS} results; narrow the filters."
            )
        groups = body.get("filterGroups") or []
        sorts = body.get("sorts") or []
        modified = modified_property(object_type)
        if any((s if isinstance(s, str) else s.get("propertyName")) != modified for s in sorts):
            return self._bad("this double sorts by the last-modified property only")
        if any(
            s.get("direction", "ASCENDING") != "ASCENDING" for s in sorts if isinstance(s, dict)
        ):
            return self._bad("this double sorts ascending only")
        table = self.tables[object_type]
        keys = table.sorted_keys()
        query_key = json.dumps([groups, sorts], sort_keys=True)
        positions = self._searches.setdefault(query_key, {})
        start = positions.get(after)
        if start is None:
            start, skip = bisect_left(keys, (_lower_bound(groups, modified), -1)), after
        else:
            skip = 0
        results, index = [], start
        while index < len(keys) and len(results) < limit:
            record = table.records[str(keys[index][1])]
            index += 1
            if _matches(record.properties, groups, modified):
                if skip:
                    skip -= 1
                    continue
                results.append(record)
        positions[after + len(results)] = index
        more = (
            any(
                _matches(table.records[str(k[1])].properties, groups, modified)
                for k in keys[index:]
            )
            if results and index < len(keys)
            else False
        )
        answer: dict[str, Any] = {
            "total": after + len(results) + (1 if more else 0),
            "results": [self._object(r, body.get("properties")) for r in results],
        }
        if more:
            answer["paging"] = {"next": {"after": str(after + len(results))}}
        return Answer(200, answer)

    def _list(self, object_type: str, request: Request) -> Answer:
        archived = request.query.get("archived", ["false"])[0].lower() == "true"
        limit = min(int(request.query.get("limit", ["10"])[0]), 100)
        after = request.query.get("after", [None])[0]
        properties = ",".join(request.query.get("properties", [])).split(",")
        records = sorted(
            (
                r
                for r in self.tables[object_type].records.values()
                if (r.archived_at is not None) == archived
            ),
            key=lambda r: int(r.id),
        )
        if after is not None:
            records = records[bisect_right([int(r.id) for r in records], int(after)) :]
        page = records[:limit]
        answer: dict[str, Any] = {"results": [self._object(r, properties) for r in page]}
        if len(records) > limit:
            answer["paging"] = {"next": {"after": page[-1].id, "link": "?after=" + page[-1].id}}
        return Answer(200, answer)

    def _batch_read(self, object_type: str, body: dict[str, Any]) -> Answer:
        table = self.tables[object_type]
        found = [
            table.records[i["id"]]
            for i in body.get("inputs", [])
            if i["id"] in table.records and table.records[i["id"]].archived_at is None
        ]
        stamp = iso_ms(self._clock_ms)
        return Answer(
            200,
            {
                "status": "COMPLETE",
                "results": [self._object(r, body.get("properties")) for r in found],
                "startedAt": stamp,
                "completedAt": stamp,
            },
        )

    def _find_unique(self, object_type: str, name: str, value: str) -> Record | None:
        for record in self.tables[object_type].records.values():
            if record.archived_at is None and record.properties.get(name) == value:
                return record
        return None

    def _create(self, object_type: str, body: dict[str, Any]) -> Answer:
        props = body.get("properties") or {}
        for name in self.unique_properties & props.keys():
            if self._find_unique(object_type, name, str(props[name])):
                return Answer(
                    409,
                    {
                        "status": "error",
                        "message": f"{object_type}: {name}={props[name]} already exists.",
                        "correlationId": "00000000-0000-0000-0000-000000000004",
                        "category": "CONFLICT",
                    },
                )
        rid = self.add(object_type, props)
        for assoc in body.get("associations") or []:
            to_id = str(assoc["to"]["id"])
            to_type = _association_target(assoc)
            self.associate(object_type, rid, to_type, to_id)
        record = self.tables[object_type].records[rid]
        return Answer(201, self._object(record, list(props)))

    def _upsert(self, object_type: str, body: dict[str, Any]) -> Answer:
        results = []
        for item in body.get("inputs", []):
            id_property = item.get("idProperty")
            if id_property not in self.unique_properties:
                return self._bad(f"{id_property} is not a unique-value property of {object_type}")
            props = {k: str(v) for k, v in (item.get("properties") or {}).items()}
            existing = self._find_unique(object_type, id_property, str(item["id"]))
            if existing is None:
                rid = self.add(object_type, {**props, id_property: item["id"]})
                record, new = self.tables[object_type].records[rid], True
            else:
                record, new = existing, False
                record.properties.update(props)
                self._touch(object_type, record)
            results.append({**self._object(record, list(props)), "new": new})
        stamp = iso_ms(self._clock_ms)
        return Answer(
            200,
            {"status": "COMPLETE", "results": results, "startedAt": stamp, "completedAt": stamp},
        )

    def _associations_read(self, from_type: str, to_type: str, body: dict[str, Any]) -> Answer:
        links = self.associations.get((from_type, to_type), {})
        type_id = ASSOCIATION_TYPE_IDS.get((from_type, to_type), 1)
        results, errors = [], []
        for item in body.get("inputs", []):
            targets = links.get(str(item["id"])) or []
            if not targets:
                errors.append(
                    {
                        "status": "error",
                        "category": "OBJECT_NOT_FOUND",
                        "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                        "message": f"No {to_type} is associated with {from_type} {item['id']}.",
                        "correlationId": "00000000-0000-0000-0000-000000000005",
                        "context": {"fromObjectId": [str(item["id"])]},
                    }
                )
                continue
            results.append(
                {
                    "from": {"id": str(item["id"])},
                    "to": [
                        {
                            "toObjectId": int(t),
                            "associationTypes": [
                                {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}
                            ],
                        }
                        for t in targets
                    ],
                }
            )
        stamp = iso_ms(self._clock_ms)
        answer: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": stamp,
            "completedAt": stamp,
        }
        if errors:
            answer["errors"] = errors
            answer["numErrors"] = len(errors)
            return Answer(207, answer)
        return Answer(200, answer)

    def _associate_default(self, from_type: str, to_type: str, body: dict[str, Any]) -> Answer:
        results = []
        for item in body.get("inputs", []):
            from_id, to_id = str(item["from"]["id"]), str(item["to"]["id"])
            if (
                from_id not in self.tables[from_type].records
                or to_id not in self.tables[to_type].records
            ):
                return self._bad(f"{from_type} {from_id} or {to_type} {to_id} does not exist")
            self.associate(from_type, from_id, to_type, to_id)
            results.append(
                {
                    "from": {"id": from_id},
                    "to": {"id": to_id},
                    "associationSpec": {
                        "associationCategory": "HUBSPOT_DEFINED",
                        "associationTypeId": ASSOCIATION_TYPE_IDS.get((from_type, to_type), 1),
                    },
                }
            )
        stamp = iso_ms(self._clock_ms)
        return Answer(
            200,
            {"status": "COMPLETE", "results": results, "startedAt": stamp, "completedAt": stamp},
        )

    def _owners(self, request: Request) -> Answer:
        limit = min(int(request.query.get("limit", ["100"])[0]), 500)
        after = int(request.query.get("after", ["0"])[0])
        page = self.owners[after : after + limit]
        answer: dict[str, Any] = {"results": page}
        if after + limit < len(self.owners):
            answer["paging"] = {"next": {"after": str(after + limit)}}
        return Answer(200, answer)


# The scope family of each object type, as HubSpot's API reference lists it (engagements
# are under the contacts scopes; line items have their own since 2024).
_SCOPE_FAMILY = {
    "companies": "crm.objects.companies",
    "deals": "crm.objects.deals",
    "line_items": "crm.objects.line_items",
    "contacts": "crm.objects.contacts",
    **dict.fromkeys(ENGAGEMENTS, "crm.objects.contacts"),
}


def required_scopes(method: str, path: str) -> set[str]:
    """The scopes a request needs (HubSpot: reads need .read; writes .write)."""
    parts = [p for p in path.split("/") if p]
    if parts[:3] == ["crm", "v3", "owners"]:
        return {"crm.objects.owners.read"}
    writes = method in ("PATCH", "DELETE", "PUT") or (
        method == "POST" and parts[-1:] not in (["search"], ["read"])
    )
    mode = "write" if writes else "read"
    if parts[:3] == ["crm", "v3", "objects"] and len(parts) >= 4:
        family = _SCOPE_FAMILY.get(parts[3])
        return {f"{family}.{mode}"} if family else set()
    if parts[:3] == ["crm", "v4", "associations"] and len(parts) >= 5:
        # The reference lists "one of" many object scopes: the from-object's is enough.
        family = _SCOPE_FAMILY.get(parts[3])
        return {f"{family}.{mode}"} if family else set()
    return set()


def _engagement_text(kind: str, n: int) -> dict[str, str]:
    if kind == "calls":
        return {"hs_call_title": f"Call {n}", "hs_call_body": "Talked about the re-order."}
    if kind == "emails":
        return {"hs_email_subject": f"Re: order {n}", "hs_email_direction": "EMAIL"}
    if kind == "meetings":
        return {"hs_meeting_title": f"Quarterly review {n}"}
    if kind == "notes":
        return {"hs_note_body": f"Note {n}"}
    return {
        "hs_task_subject": f"Follow up {n}",
        "hs_task_status": "COMPLETED" if n % 2 else "NOT_STARTED",
        "hs_task_type": ("CALL", "EMAIL", "TODO")[n % 3],
    }


def _association_target(assoc: dict[str, Any]) -> str:
    types = assoc.get("types") or [{}]
    type_id = types[0].get("associationTypeId")
    for (_, to_type), known in ASSOCIATION_TYPE_IDS.items():
        if known == type_id:
            return to_type
    return "companies"


def _lower_bound(groups: list[dict[str, Any]], modified: str) -> int:
    """The smallest last-modified time any group can match (so search can skip older records)."""
    bounds = []
    for group in groups:
        bound = -(2**62)
        for f in group.get("filters", []):
            if f.get("propertyName") == modified and f.get("operator") in {"GT", "GTE", "EQ"}:
                bound = max(bound, _ms(str(f["value"])))
        bounds.append(bound)
    return min(bounds) if bounds else -(2**62)


def _matches(props: dict[str, str], groups: list[dict[str, Any]], modified: str) -> bool:
    if not groups:
        return True
    return any(all(_test(props, f, modified) for f in g.get("filters", [])) for g in groups)


def _test(props: dict[str, str], f: dict[str, Any], modified: str) -> bool:
    name, op = f["propertyName"], f["operator"]
    have = props.get(name)
    if op == "HAS_PROPERTY":
        return bool(have)
    if op == "NOT_HAS_PROPERTY":
        return not have
    if op == "IN":
        return have in {str(v) for v in f.get("values", [])}
    if have in (None, ""):
        return op == "NEQ"
    want = str(f.get("value"))
    if name == modified or name in {"createdate", "hs_timestamp", "closedate"}:
        left, right = _ms(have), _ms(want)
    elif name == "hs_object_id":
        left, right = int(have), int(want)
    else:
        left, right = have, want  # type: ignore[assignment]
    return {
        "EQ": left == right,
        "NEQ": left != right,
        "GT": left > right,
        "GTE": left >= right,
        "LT": left < right,
        "LTE": left <= right,
    }[op]
