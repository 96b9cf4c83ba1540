"""The Salesforce source and write-back, through simple-salesforce, against the local double."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.crm.base import (
    AccountRow,
    Batch,
    Cursor,
    RetryPolicy,
    SourceAuthError,
    SourceError,
    SourceUnavailable,
    removed_kind,
)
from bot.crm.salesforce import SalesforceSettings, SalesforceSource
from bot.crm.writeback import OutgoingTouch, SalesforceWriter
from tests.doubles.salesforce_double import SalesforceDouble


@pytest.fixture
def org() -> Iterator[SalesforceDouble]:
    with SalesforceDouble(batch_size=250) as double:
        yield double


def settings(double: SalesforceDouble, waits: list[float] | None = None) -> SalesforceSettings:
    waits = [] if waits is None else waits
    return SalesforceSettings(
        instance_url=double.url,
        session_id=double.session_id,
        session=double.session(),
        retry=RetryPolicy(attempts=3, sleep=waits.append),
    )


def pull(source: SalesforceSource, kind: str, cursor: Cursor | None = None) -> list[Batch]:
    return list(source.pull(kind, cursor))


def rows(batches: list[Batch]) -> list[object]:
    return [r for b in batches for r in b.rows]


def test_accounts_with_owner_emails(org: SalesforceDouble) -> None:
    rep = org.add_user("Ana@Example.com")
    acme = org.add("Account", {"Name": "Acme", "OwnerId": rep, "AnnualRevenue": 120000.5})

    (account,) = rows(pull(SalesforceSource(settings(org)), "accounts"))

    assert account == AccountRow(acme, "Acme", "ana@example.com", None, Decimal("120000.5"), None)


def test_full_pull_follows_next_records_url_and_sorts_kinds(org: SalesforceDouble) -> None:
    org.generate(accounts=60, opportunities=900, activities=800, seed=5)
    source = SalesforceSource(settings(org))

    orders = pull(source, "orders")
    won = sum(1 for r in org.objects["Opportunity"].values() if r["IsWon"])
    assert len(rows(orders)) == won
    assert sum(len(b.removed) for b in orders) == 900 - won
    assert org.count("GET", "/query/") >= 900 // 250  # paged by nextRecordsUrl

    touches = pull(source, "touches")
    tasks = org.objects["Task"].values()
    expected = sum(1 for t in tasks if t["IsClosed"] and t["AccountId"]) + sum(
        1 for e in org.objects["Event"].values() if e["AccountId"]
    )
    assert len(rows(touches)) == expected
    assert {r.kind for r in rows(touches)} == {"call", "email", "note", "meeting"}  # type: ignore[attr-defined]
    assert [b.cursor for b in touches] == sorted(b.cursor for b in touches)  # type: ignore[type-var]


def test_incremental_by_system_modstamp_takes_exactly_the_changes(org: SalesforceDouble) -> None:
    org.generate(accounts=40, opportunities=300, activities=100)
    source = SalesforceSource(settings(org))
    cursor = pull(source, "orders")[-1].cursor
    changed = list(org.objects["Opportunity"])[:10]
    for opportunity in changed:
        org.update("Opportunity", opportunity, Amount=77.0, IsWon=True)

    again = pull(source, "orders", cursor)

    assert sorted(r.order_id for r in rows(again)) == sorted(changed)  # type: ignore[attr-defined]
    assert pull(source, "orders", again[-1].cursor) == []


def test_deleted_and_merged_accounts_come_from_query_all(org: SalesforceDouble) -> None:
    master, merged, gone = (org.add("Account", {"Name": n}) for n in ("A", "B", "C"))
    contact = org.add("Contact", {"AccountId": merged, "Name": "Bo", "Email": "bo@x.org"})
    source = SalesforceSource(settings(org))
    contacts_cursor = pull(source, "contacts")[-1].cursor
    org.merge_accounts(master, merged)
    org.delete("Account", gone)

    removed = [r for b in pull(source, removed_kind("accounts")) for r in b.removed]
    moved = rows(pull(source, "contacts", contacts_cursor))

    assert [(r.external_id, r.merged_into) for r in removed] == [(merged, master), (gone, None)]
    assert [(c.external_id, c.account_external_id) for c in moved] == [(contact, master)]  # type: ignore[attr-defined]
    assert [r.external_id for r in rows(pull(source, "accounts"))] == [master]  # type: ignore[attr-defined]


def test_server_errors_are_retried_and_an_expired_session_reported(org: SalesforceDouble) -> None:
    org.add("Account", {"Name": "Acme"})
    waits: list[float] = []
    org.fail_next(503, path_contains="/query")
    assert len(rows(pull(SalesforceSource(settings(org, waits)), "accounts"))) == 1
    assert waits == [0.5]

    org.fail_next(500, times=5, path_contains="/query")
    with pytest.raises(SourceUnavailable, match=r"Salesforce kept failing .*\(HTTP 500"):
        pull(SalesforceSource(settings(org)), "accounts")

    org.expire_session()
    with pytest.raises(SourceAuthError, match="expired or was revoked"):
        pull(SalesforceSource(settings(org)), "accounts")


def test_the_daily_api_limit_is_reported_not_retried(org: SalesforceDouble) -> None:
    org.daily_limit_exceeded = True
    waits: list[float] = []
    with pytest.raises(SourceError, match=r"HTTP 403.*TotalRequests Limit exceeded"):
        pull(SalesforceSource(settings(org, waits)), "accounts")
    assert waits == []


def test_a_written_task_exists_once_and_the_sync_recognises_it(org: SalesforceDouble) -> None:
    rep = org.add_user("ana@example.com")
    account = org.add("Account", {"Name": "Acme", "OwnerId": rep})
    writer = SalesforceWriter(settings(org))
    touch = OutgoingTouch("rebuy-touch-9", account, datetime(2026, 3, 2, 9, tzinfo=UTC), "call")
    org.fail_next(502, path_contains="/sobjects/Task", applied=True)

    first = writer.write_touch(touch, rep)
    second = writer.write_touch(touch, rep)

    assert first.crm_id == second.crm_id and not second.created
    tasks = [t for t in org.objects["Task"].values() if not t["IsDeleted"]]
    assert len(tasks) == 1 and tasks[0]["Type"] == "Call" and tasks[0]["OwnerId"] == rep
    (row,) = rows(pull(SalesforceSource(settings(org)), "touches"))
    assert (row.rebuy_key, row.kind, row.rep_email, row.account_external_id) == (  # type: ignore[attr-defined]
        "rebuy-touch-9",
        "call",
        "ana@example.com",
        account,
    )
