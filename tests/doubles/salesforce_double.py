"""A local double of Salesforce's REST API, for `simple-salesforce`.

    with SalesforceDouble() as sf:
        sf.generate(accounts=100, opportunities=500, activities=1000)
        client = Salesforce(instance_url=sf.url, session_id=sf.session_id, session=sf.session())

simple-salesforce always speaks HTTPS, so the double serves TLS with a throw-away
CA (trustme); `session()` is a requests session that trusts it.

Shapes follow Salesforce's REST reference: `query` and `queryAll` answer
`{"totalSize", "done", "records", "nextRecordsUrl"}` with records carrying
`attributes`, pages hold `batch_size` records (2,000 by default; the
`Sforce-Query-Options: batchSize=N` header lowers it), relationship fields
(`Owner.Email`) come back nested, times as `2026-01-02T03:04:05.000+0000`.
Deleted records stay in the recycle bin: only `queryAll` sees them, with
`IsDeleted = true`; an account merged away also has `MasterRecordId`. Errors
are lists of `{"message", "errorCode"}`: 401 INVALID_SESSION_ID for an expired
session, 403 REQUEST_LIMIT_EXCEEDED, and whatever `fail_next` injects.

The SOQL understood is what the adapters send: SELECT fields FROM object
[WHERE conditions with AND/OR/parentheses and = != < <= > >=] [ORDER BY
fields] [LIMIT n].
"""

from __future__ import annotations

import base64
import html
import itertools
import random
import re
import shutil
import ssl
import tempfile
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import requests
import trustme

from tests.doubles.http_double import Answer, HttpDouble, Request, not_found

API_VERSION = "59.0"
PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "Task": "00T",
    "Event": "00U",
    "User": "005",
}
EXTERNAL_ID_FIELDS = {"Task": {"Rebuy_Touch_Id__c"}}
DEFAULT_BATCH = 2000
_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def sf_datetime(when: datetime) -> str:
    return (
        when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"
    )


class SalesforceDouble(HttpDouble):
    def __init__(
        self, *, session_id: str = "00Dtest!session", batch_size: int = DEFAULT_BATCH
    ) -> None:
        self._ca = trustme.CA()
        cert = self._ca.issue_cert("127.0.0.1", "localhost")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        super().__init__(ssl_context=context)
        self._dir = Path(tempfile.mkdtemp(prefix="sfdouble-"))
        self.ca_bundle = str(self._dir / "ca.pem")
        self._ca.cert_pem.write_to_path(self.ca_bundle)
        self.session_id = session_id  # the newest session; every live one is in `_live`
        self.session_expired = False
        self._live = {session_id}
        # Who may log in (SOAP login: the password is followed by the security token;
        # OAuth client credentials: a connected app's consumer key and secret).
        self.users: dict[str, str] = {}  # username -> password + security token
        self.apps: dict[str, str] = {}  # consumer key -> consumer secret
        self.logins = 0
        self.batch_size = batch_size
        self.daily_limit_exceeded = False
        self.objects: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in PREFIXES}
        self._counters = {name: itertools.count(1) for name in PREFIXES}
        self._clock = _EPOCH
        self._cursors: dict[str, tuple[list[dict[str, Any]], list[str]]] = {}
        self._data_lock = threading.RLock()

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def session(self) -> requests.Session:
        """A requests session that trusts the double's certificate."""
        session = requests.Session()
        session.verify = self.ca_bundle
        session.trust_env = False  # REQUESTS_CA_BUNDLE or a proxy must not override the CA
        return session

    # -- data ------------------------------------------------------------------
    def tick(self) -> datetime:
        self._clock += timedelta(seconds=1)
        return self._clock

    def add(self, sobject: str, fields: dict[str, Any], *, modstamp: datetime | None = None) -> str:
        with self._data_lock:
            rid = f"{PREFIXES[sobject]}{next(self._counters[sobject]):012d}AAA"
            when = modstamp or self.tick()
            self._clock = max(self._clock, when)
            self.objects[sobject][rid] = {
                "Id": rid,
                "IsDeleted": False,
                "SystemModstamp": when,
                "CreatedDate": when,
                **fields,
            }
            return rid

    def update(self, sobject: str, record_id: str, **fields: Any) -> None:
        with self._data_lock:
            record = self.objects[sobject][record_id]
            record.update(fields)
            record["SystemModstamp"] = self.tick()

    def delete(self, sobject: str, record_id: str) -> None:
        """Move a record to the recycle bin (only queryAll still sees it)."""
        self.update(sobject, record_id, IsDeleted=True)

    def merge_accounts(self, master: str, merged: str) -> None:
        """Merge `merged` into `master`: children move over; it is deleted with MasterRecordId."""
        with self._data_lock:
            for sobject in ("Contact", "Opportunity", "Task", "Event"):
                for record in self.objects[sobject].values():
                    if record.get("AccountId") == merged:
                        record["AccountId"] = master
                        if record.get("WhatId") == merged:
                            record["WhatId"] = master
                        record["SystemModstamp"] = self.tick()
            self.update("Account", merged, IsDeleted=True, MasterRecordId=master)
            self.update("Account", master)

    def add_user(self, email: str) -> str:
        return self.add("User", {"Email": email, "Name": email.split("@")[0], "IsActive": True})

    def generate(
        self,
        *,
        accounts: int = 100,
        contacts: int | None = None,
        opportunities: int = 500,
        activities: int = 1000,
        users: int = 20,
        seed: int = 14,
    ) -> None:
        rng = random.Random(seed)
        contacts = accounts * 2 if contacts is None else contacts
        start, span = self._clock, 365 * 86_400

        def when() -> datetime:
            return start + timedelta(seconds=rng.randrange(span), milliseconds=rng.randrange(1000))

        user_ids = [self.add_user(f"rep{n}@example.com") for n in range(users)]
        account_ids = [
            self.add(
                "Account",
                {
                    "Name": f"Account {n}",
                    "OwnerId": rng.choice(user_ids),
                    "AnnualRevenue": float(rng.randrange(10, 500) * 1000),
                    "Type": "Customer",
                    "MasterRecordId": None,
                },
                modstamp=when(),
            )
            for n in range(accounts)
        ]
        for n in range(contacts):
            self.add(
                "Contact",
                {
                    "AccountId": rng.choice(account_ids),
                    "FirstName": f"First{n}",
                    "LastName": f"Last{n}",
                    "Name": f"First{n} Last{n}",
                    "Email": f"contact{n}@example.org",
                    "Title": "Buyer",
                },
                modstamp=when(),
            )
        for n in range(opportunities):
            closed = when()
            won = rng.random() < 0.8
            self.add(
                "Opportunity",
                {
                    "AccountId": rng.choice(account_ids),
                    "Name": f"Opportunity {n}",
                    "Amount": float(f"{rng.randrange(100, 50_000)}.{rng.randrange(100):02d}"),
                    "CloseDate": closed.date(),
                    "IsClosed": True,
                    "IsWon": won,
                    "StageName": "Closed Won" if won else "Closed Lost",
                },
                modstamp=closed,
            )
        for n in range(activities):
            stamp = when()
            account = rng.choice(account_ids) if rng.random() >= 0.01 else None
            owner = rng.choice(user_ids)
            if n % 4 == 3:
                self.add(
                    "Event",
                    {
                        "AccountId": account,
                        "WhatId": account,
                        "OwnerId": owner,
                        "Subject": f"Meeting {n}",
                        "Type": "Meeting",
                        "StartDateTime": stamp,
                        "ActivityDateTime": stamp,
                        "EndDateTime": stamp + timedelta(hours=1),
                    },
                    modstamp=stamp,
                )
            else:
                subtype = ("Call", "Email", "Task")[n % 3]
                done = n % 5 != 0
                self.add(
                    "Task",
                    {
                        "AccountId": account,
                        "WhatId": account,
                        "OwnerId": owner,
                        "Subject": f"{subtype} {n}",
                        "Description": "Talked about the re-order.",
                        "TaskSubtype": subtype,
                        "Type": subtype if subtype != "Task" else "Other",
                        "Status": "Completed" if done else "Not Started",
                        "IsClosed": done,
                        "ActivityDate": stamp.date(),
                        "CompletedDateTime": stamp if done else None,
                        "Rebuy_Touch_Id__c": None,
                    },
                    modstamp=stamp,
                )
        self._clock = start + timedelta(seconds=span)

    # -- HTTP --------------------------------------------------------------------
    def error_body(self, status: int) -> Any:
        code = {500: "UNKNOWN_EXCEPTION", 503: "SERVER_UNAVAILABLE", 429: "REQUEST_LIMIT_EXCEEDED"}
        return [{"message": f"HTTP {status}", "errorCode": code.get(status, "UNKNOWN_EXCEPTION")}]

    def expire_session(self) -> None:
        self.session_expired = True  # every session so far has ended (a new login works)
        self._live.clear()

    def add_login(self, username: str, password: str, security_token: str) -> None:
        self.users[username] = password + security_token

    def _new_session(self) -> str:
        self.logins += 1
        self.session_id = f"00Dtest!session-{self.logins}"
        self._live.add(self.session_id)
        return self.session_id

    def _soap_login(self, request: Request) -> Answer:
        """The partner API's `login` call, answered as Salesforce does (a fault is HTTP 500)."""
        text = request.body if isinstance(request.body, str) else ""
        username = html.unescape(_xml_value(text, "username") or "")
        password = html.unescape(_xml_value(text, "password") or "")
        if not username or self.users.get(username) != password:
            return Answer(500, _LOGIN_FAULT.encode())
        version = request.path.rstrip("/").rsplit("/", 1)[-1]
        server = f"{self.url}/services/Soap/u/{version}/00D000000000001EAA"
        body = _LOGIN_OK.format(server=server, session=self._new_session())
        return Answer(200, body.encode())

    def _oauth_token(self, request: Request) -> Answer:
        """OAuth 2.0 client credentials: Basic auth with the connected app's key and secret."""
        form = parse_qs(request.body if isinstance(request.body, str) else "")
        auth = request.headers.get("authorization", "")
        try:
            key, _, secret = base64.b64decode(auth.removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            key = secret = ""
        if form.get("grant_type") != ["client_credentials"] or self.apps.get(key) != secret:
            return Answer(
                400, {"error": "invalid_client", "error_description": "invalid client credentials"}
            )
        return Answer(
            200,
            {
                "access_token": self._new_session(),
                "instance_url": self.url,
                "id": f"{self.url}/id/00D000000000001EAA/005000000000001AAA",
                "token_type": "Bearer",
                "issued_at": "1767225600000",
                "signature": "c2lnbmF0dXJl",
            },
        )

    def before(self, request: Request) -> Answer | None:
        if request.path.startswith("/services/Soap/u/") and request.method == "POST":
            return self._soap_login(request)
        if request.path == "/services/oauth2/token" and request.method == "POST":
            return self._oauth_token(request)
        auth = request.headers.get("authorization", "")
        if auth.removeprefix("Bearer ") not in self._live:
            return Answer(
                401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
            )
        if self.daily_limit_exceeded:
            return Answer(
                403,
                [
                    {
                        "message": "TotalRequests Limit exceeded.",
                        "errorCode": "REQUEST_LIMIT_EXCEEDED",
                    }
                ],
            )
        return None

    def route(self, request: Request) -> Answer:
        prefix = f"/services/data/v{API_VERSION}/"
        if not request.path.startswith(prefix):
            raise not_found()
        rest = request.path[len(prefix) :].strip("/").split("/")
        with self._data_lock:
            if rest[0] in ("query", "queryAll") and request.method == "GET":
                if len(rest) == 2:
                    return self._more(rest[1])
                soql = request.query.get("q", [""])[0]
                size = self.batch_size
                options = request.headers.get("sforce-query-options", "")
                if m := re.search(r"batchSize=(\d+)", options):
                    size = max(200, min(int(m.group(1)), DEFAULT_BATCH))
                return self._query(soql, include_deleted=rest[0] == "queryAll", size=size)
            if rest[0] == "sobjects" and len(rest) == 4 and request.method == "PATCH":
                return self._upsert(rest[1], rest[2], rest[3], request.body or {})
            if rest[0] == "sobjects" and len(rest) == 3 and request.method == "DELETE":
                record = self.objects.get(rest[1], {}).get(rest[2])
                if record is None or record.get("IsDeleted"):
                    return Answer(
                        404, [{"errorCode": "ENTITY_IS_DELETED", "message": "entity is deleted"}]
                    )
                self.delete(rest[1], rest[2])
                return Answer(204, None)
        raise not_found()

    def _bad_query(self, message: str) -> Answer:
        return Answer(400, [{"message": message, "errorCode": "MALFORMED_QUERY"}])

    def _query(self, soql: str, *, include_deleted: bool, size: int) -> Answer:
        try:
            query = parse_soql(soql)
        except ValueError as error:
            return self._bad_query(str(error))
        table = self.objects.get(query.sobject)
        if table is None:
            return Answer(
                400,
                [
                    {
                        "message": f"sObject type '{query.sobject}' is not supported.",
                        "errorCode": "INVALID_TYPE",
                    }
                ],
            )
        rows = [
            r
            for r in table.values()
            if (include_deleted or not r["IsDeleted"]) and (query.where is None or query.where(r))
        ]
        for name in reversed(query.order_by):
            rows.sort(key=lambda r, n=name: (r.get(n) is None, r.get(n) or 0))
        if query.limit is not None:
            rows = rows[: query.limit]
        return self._page(
            query.fields, query.sobject, rows, size, locator=uuid.uuid4().hex[:15], offset=0
        )

    def _page(
        self,
        fields: list[str],
        sobject: str,
        rows: list[dict[str, Any]],
        size: int,
        *,
        locator: str,
        offset: int,
    ) -> Answer:
        page = rows[offset : offset + size]
        done = offset + size >= len(rows)
        body: dict[str, Any] = {
            "totalSize": len(rows),
            "done": done,
            "records": [self._render(sobject, r, fields) for r in page],
        }
        if not done:
            self._cursors[locator] = (rows, [sobject, str(size), *fields])
            body["nextRecordsUrl"] = (
                f"/services/data/v{API_VERSION}/query/{locator}-{offset + size}"
            )
        return Answer(200, body)

    def _more(self, token: str) -> Answer:
        locator, _, offset = token.rpartition("-")
        if locator not in self._cursors:
            return Answer(
                400, [{"message": "invalid query locator", "errorCode": "INVALID_QUERY_LOCATOR"}]
            )
        rows, (sobject, size, *fields) = self._cursors[locator]
        answer = self._page(fields, sobject, rows, int(size), locator=locator, offset=int(offset))
        if answer.body["done"]:
            self._cursors.pop(locator, None)
        return answer

    def _render(self, sobject: str, record: dict[str, Any], fields: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "attributes": {
                "type": sobject,
                "url": f"/services/data/v{API_VERSION}/sobjects/{sobject}/{record['Id']}",
            }
        }
        for name in fields:
            if "." in name:
                relation, field = name.split(".", 1)
                target = self.objects["User"].get(record.get(relation + "Id") or "")
                if target is None:
                    out[relation] = None
                else:
                    nested = out.setdefault(
                        relation,
                        {
                            "attributes": {
                                "type": "User",
                                "url": _url("User", target["Id"]),
                            }
                        },
                    )
                    nested[field] = _json(target.get(field))
            else:
                out[name] = _json(record.get(name))
        return out

    def _upsert(self, sobject: str, field: str, value: str, body: dict[str, Any]) -> Answer:
        if field not in EXTERNAL_ID_FIELDS.get(sobject, set()):
            return Answer(
                404,
                [
                    {
                        "message": f"External ID field not accessible: {field}",
                        "errorCode": "NOT_FOUND",
                    }
                ],
            )
        fields = {k: _from_json(v) for k, v in body.items()}
        for record in self.objects[sobject].values():
            if not record["IsDeleted"] and record.get(field) == value:
                self.update(sobject, record["Id"], **fields)
                return Answer(
                    200, {"id": record["Id"], "success": True, "errors": [], "created": False}
                )
        if sobject == "Task" and "WhatId" in fields:
            fields.setdefault("AccountId", fields["WhatId"])
        rid = self.add(sobject, {**fields, field: value})
        return Answer(201, {"id": rid, "success": True, "errors": [], "created": True})


_LOGIN_OK = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\
<soapenv:Body><loginResponse><result>\
<metadataServerUrl>{server}</metadataServerUrl><passwordExpired>false</passwordExpired>\
<sandbox>false</sandbox><serverUrl>{server}</serverUrl><sessionId>{session}</sessionId>\
<userId>005000000000001AAA</userId><userInfo><organizationId>00D000000000001EAA\
</organizationId><userEmail>integration@example.com</userEmail></userInfo>\
</result></loginResponse></soapenv:Body></soapenv:Envelope>"""

_LOGIN_FAULT = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns:sf="urn:fault.partner.soap.sforce.com" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault>\
<faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid username, \
password, security token; or user locked out.</faultstring><detail>\
<sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>\
<sf:exceptionMessage>Invalid username, password, security token; or user locked out.\
</sf:exceptionMessage></sf:LoginFault></detail></soapenv:Fault></soapenv:Body>\
</soapenv:Envelope>"""


def _xml_value(text: str, name: str) -> str | None:
    found = re.search(rf"<(?:\w+:)?{name}>(.*?)</(?:\w+:)?{name}>", text, re.S)
    return found.group(1) if found else None


def _url(sobject: str, record_id: str) -> str:
    return f"/services/data/v{API_VERSION}/sobjects/{sobject}/{record_id}"


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return sf_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, str):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return date.fromisoformat(value)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:?\d{2})", value):
            return _parse_datetime(value)
    return value


def _parse_datetime(text: str) -> datetime:
    text = text.replace("Z", "+00:00")
    text = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", text)
    return datetime.fromisoformat(text).astimezone(UTC)


# -- a small SOQL reader -------------------------------------------------------
@dataclass
class Soql:
    fields: list[str]
    sobject: str
    where: Any
    order_by: list[str]
    limit: int | None


_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<dt>\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:?\d{2}))"
    r"|(?P<date>\d{4}-\d{2}-\d{2})|(?P<num>-?\d+(?:\.\d+)?)|(?P<op><=|>=|!=|<>|=|<|>)"
    r"|(?P<punct>[(),])|(?P<word>[A-Za-z_][\w.]*))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"unexpected token at {text[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


# Complexity over 12 on purpose: a small SOQL parser: one branch per clause of the grammar the
# double accepts.
def parse_soql(text: str) -> Soql:  # noqa: C901
    tokens = _tokens(text)
    i = 0

    def peek(word: str) -> bool:
        return i < len(tokens) and tokens[i][1].upper() == word

    def take() -> tuple[str, str]:
        nonlocal i
        if i >= len(tokens):
            raise ValueError("unexpected end of query")
        i += 1
        return tokens[i - 1]

    if not peek("SELECT"):
        raise ValueError("expected SELECT")
    take()
    fields = []
    while True:
        fields.append(take()[1])
        if tokens[i][1] != ",":
            break
        take()
    if not peek("FROM"):
        raise ValueError("expected FROM")
    take()
    sobject = take()[1]

    def value() -> Any:
        kind, text_ = take()
        if kind == "str":
            return text_[1:-1].replace("\\'", "'")
        if kind == "dt":
            return _parse_datetime(text_)
        if kind == "date":
            return date.fromisoformat(text_)
        if kind == "num":
            return Decimal(text_)
        if text_.lower() in ("true", "false"):
            return text_.lower() == "true"
        if text_.lower() == "null":
            return None
        raise ValueError(f"bad value {text_!r}")

    def factor() -> Any:
        if tokens[i][1] == "(":
            take()
            inner = expr()
            if take()[1] != ")":
                raise ValueError("missing )")
            return inner
        name = take()[1]
        kind, op = take()
        if kind != "op":
            raise ValueError(f"expected an operator after {name}")
        want = value()

        def test(record: dict[str, Any]) -> bool:
            have = record.get(name)
            if isinstance(have, float):
                have = Decimal(str(have))
            if op in ("=",):
                return have == want
            if op in ("!=", "<>"):
                return have != want
            if have is None or want is None:
                return False
            return {"<": have < want, "<=": have <= want, ">": have > want, ">=": have >= want}[op]

        return test

    def term() -> Any:
        parts = [factor()]
        while peek("AND"):
            take()
            parts.append(factor())
        return lambda r: all(p(r) for p in parts)

    def expr() -> Any:
        parts = [term()]
        while peek("OR"):
            take()
            parts.append(term())
        return lambda r: any(p(r) for p in parts)

    where = None
    if peek("WHERE"):
        take()
        where = expr()
    order_by: list[str] = []
    if peek("ORDER"):
        take()
        if not peek("BY"):
            raise ValueError("expected BY")
        take()
        while True:
            order_by.append(take()[1])
            if peek("ASC"):
                take()
            if i < len(tokens) and tokens[i][1] == ",":
                take()
                continue
            break
    limit = None
    if peek("LIMIT"):
        take()
        limit = int(take()[1])
    if i != len(tokens):
        raise ValueError(f"unexpected {tokens[i][1]!r}")
    return Soql(fields, sobject, where, order_by, limit)
