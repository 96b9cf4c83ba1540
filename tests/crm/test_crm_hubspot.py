"""The HubSpot source and write-back (hubspot-api-client) against the local HubSpot double."""

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
    TouchRow,
    removed_kind,
)
from bot.crm.hubspot import HubSpotSettings, HubSpotSource
from bot.crm.writeback import HubSpotWriter, OutgoingTouch
from tests.doubles.hubspot_double import HubSpotDouble


@pytest.fixture
def hubspot() -> Iterator[HubSpotDouble]:
    with HubSpotDouble() as double:
        yield double


def settings(
    double: HubSpotDouble, waits: list[float] | None = None, **overrides: object
) -> HubSpotSettings:
    """Settings for the double; retry waits are recorded in `waits` instead of slept."""
    waits = [] if waits is None else waits

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        double.advance(seconds)  # the double's rate-limit window moves with our waits

    options: dict[str, object] = {
        "access_token": double.token,
        "host": double.url,
        "retry": RetryPolicy(attempts=4, sleep=sleep),
    }
    options.update(overrides)
    return HubSpotSettings(**options)  # type: ignore[arg-type]


def pull(source: HubSpotSource, kind: str, cursor: Cursor | None = None) -> list[Batch]:
    return list(source.pull(kind, cursor))


def rows(batches: list[Batch]) -> list[object]:
    return [r for b in batches for r in b.rows]


def test_companies_become_accounts_with_owner_emails_and_values(hubspot: HubSpotDouble) -> None:
    owner = hubspot.add_owner("Ana@Example.com")
    acme = hubspot.add(
        "companies", {"name": "Acme", "hubspot_owner_id": owner, "annualrevenue": "120000.50"}
    )
    hubspot.add("companies", {"name": "Bolt", "hubspot_owner_id": "999"})
    source = HubSpotSource(settings(hubspot))

    accounts = rows(pull(source, "accounts"))

    assert accounts == [
        AccountRow(acme, "Acme", "ana@example.com", None, Decimal("120000.50"), None),
        AccountRow(str(int(acme) + 1), "Bolt", None, None, None, None),
    ]


def test_full_pull_pages_through_everything_and_counts_what_it_skips(
    hubspot: HubSpotDouble,
) -> None:
    hubspot.generate(companies=120, deals=600, activities=700, seed=3)
    source = HubSpotSource(settings(hubspot, page_size=50))

    won = sum(1 for r in hubspot.live("deals") if r.properties["hs_is_closed_won"] == "true")
    orders = pull(source, "orders")
    assert len(rows(orders)) == won
    assert sum(len(b.removed) for b in orders) == 600 - won  # lost deals never count as orders
    assert all(len(b) <= 50 for b in orders)

    touches = pull(source, "touches")
    open_tasks = sum(
        1 for r in hubspot.live("tasks") if r.properties["hs_task_status"] != "COMPLETED"
    )
    lonely = sum(
        1
        for kind in ("calls", "emails", "meetings", "notes", "tasks")
        for r in hubspot.live(kind)
        if not hubspot.associations.get((kind, "companies"), {}).get(r.id)
        and (kind != "tasks" or r.properties["hs_task_status"] == "COMPLETED")
    )
    assert sum(len(b.skipped) for b in touches) == open_tasks + lonely
    assert len(rows(touches)) == 700 - open_tasks - lonely
    # Batches across the five engagement types come oldest first, cursor by cursor.
    cursors = [b.cursor for b in touches]
    assert cursors == sorted(cursors)


def test_search_restarts_past_hubspots_ten_thousand_result_cap(hubspot: HubSpotDouble) -> None:
    hubspot.generate(companies=10_250, contacts=0, deals=0, activities=0, owners=2)
    source = HubSpotSource(settings(hubspot, page_size=200))

    accounts = rows(pull(source, "accounts"))

    assert len(accounts) == 10_250
    assert len({a.external_id for a in accounts}) == 10_250  # type: ignore[attr-defined]
    refused = hubspot.count("POST", "/search", status=400)
    assert refused == 0  # the adapter never asks past the cap


def test_incremental_pull_takes_exactly_the_changes(hubspot: HubSpotDouble) -> None:
    hubspot.generate(companies=50, deals=300, activities=200)
    source = HubSpotSource(settings(hubspot))
    cursor = pull(source, "orders")[-1].cursor
    changed = [r.id for r in hubspot.live("deals")[:10]]
    for deal in changed:
        hubspot.update("deals", deal, amount="77.00", hs_is_closed_won="true")

    again = pull(source, "orders", cursor)

    assert sorted(r.order_id for r in rows(again)) == sorted(changed)  # type: ignore[attr-defined]
    assert {r.amount for r in rows(again)} == {Decimal("77.00")}  # type: ignore[attr-defined]
    assert pull(source, "orders", again[-1].cursor) == []


def test_cursor_ties_are_broken_by_id(hubspot: HubSpotDouble) -> None:
    same = 1_767_225_600_000
    ids = [hubspot.add("companies", {"name": f"C{n}"}, modified_ms=same) for n in range(5)]
    source = HubSpotSource(settings(hubspot, page_size=2))

    batches = pull(source, "accounts")
    resumed = pull(source, "accounts", batches[0].cursor)

    assert [r.external_id for r in rows(batches)] == ids  # type: ignore[attr-defined]
    assert [r.external_id for r in rows(resumed)] == ids[2:]  # type: ignore[attr-defined]


def test_deals_with_line_items_carry_their_product_names(hubspot: HubSpotDouble) -> None:
    company = hubspot.add("companies", {"name": "Acme"})
    items = (
        hubspot.add("line_items", {"name": "Widget"}),
        hubspot.add("line_items", {"name": "Gadget"}),
    )
    hubspot.add(
        "deals",
        {"amount": "250", "closedate": "2026-02-03T10:00:00.000Z", "hs_is_closed_won": "true"},
        companies=(company,),
        line_items=items,
    )
    source = HubSpotSource(settings(hubspot))

    (order,) = rows(pull(source, "orders"))

    assert order.product == "Widget; Gadget"  # type: ignore[attr-defined]
    assert order.ordered_at == datetime(2026, 2, 3, 10, tzinfo=UTC)  # type: ignore[attr-defined]
    assert order.account_external_id == company  # type: ignore[attr-defined]


def test_deleted_and_merged_companies_arrive_as_removals(hubspot: HubSpotDouble) -> None:
    keep, merged, gone = (hubspot.add("companies", {"name": n}) for n in ("A", "B", "C"))
    source = HubSpotSource(settings(hubspot))
    cursor = pull(source, "accounts")[-1].cursor
    hubspot.merge_companies(keep, merged)
    hubspot.archive("companies", gone)

    changes = pull(source, "accounts", cursor)
    archived = pull(source, removed_kind("accounts"))

    assert [(r.external_id, r.merged_into) for b in changes for r in b.removed] == [(merged, keep)]
    assert [r.external_id for r in rows(changes)] == [keep]  # type: ignore[attr-defined]
    assert [r.external_id for b in archived for r in b.removed] == [gone]
    assert pull(source, removed_kind("accounts"), archived[-1].cursor) == []


def test_rate_limits_are_waited_out_in_hubspots_ten_second_window(hubspot: HubSpotDouble) -> None:
    hubspot.generate(companies=30, contacts=0, deals=0, activities=0, owners=1)
    hubspot.rate_limit = (3, 10.0)
    waits: list[float] = []
    source = HubSpotSource(settings(hubspot, waits, page_size=5))

    accounts = rows(pull(source, "accounts"))

    assert len(accounts) == 30
    assert hubspot.count("POST", "/search", status=429) > 0
    assert waits and set(waits) == {10.0}


def test_retry_after_is_honoured_when_hubspot_sends_it(hubspot: HubSpotDouble) -> None:
    hubspot.add("companies", {"name": "Acme"})
    hubspot.fail_next(429, headers={"Retry-After": "2"})
    waits: list[float] = []

    assert len(rows(pull(HubSpotSource(settings(hubspot, waits)), "accounts"))) == 1
    assert waits == [2.0]


def test_server_errors_are_retried_then_reported(hubspot: HubSpotDouble) -> None:
    hubspot.add("companies", {"name": "Acme"})
    hubspot.fail_next(502, times=2, path_contains="/search")
    waits: list[float] = []
    assert len(rows(pull(HubSpotSource(settings(hubspot, waits)), "accounts"))) == 1
    assert waits == [0.5, 1.0]

    hubspot.fail_next(503, times=10, path_contains="/search")
    with pytest.raises(
        SourceUnavailable, match=r"HubSpot kept failing .*\(HTTP 503 after 4 attempts\)"
    ):
        pull(HubSpotSource(settings(hubspot)), "accounts")


def test_an_expired_token_is_reported_clearly(hubspot: HubSpotDouble) -> None:
    hubspot.add("companies", {"name": "Acme"})
    hubspot.expire_token()

    with pytest.raises(SourceAuthError, match="expired or was revoked"):
        pull(HubSpotSource(settings(hubspot)), "accounts")
    assert hubspot.count("POST", "/search") == 1  # a 401 is not retried


def test_an_unknown_kind_is_refused_by_name(hubspot: HubSpotDouble) -> None:
    with pytest.raises(SourceError, match="no “invoices”"):
        pull(HubSpotSource(settings(hubspot)), "invoices")


def test_a_written_touch_exists_once_through_a_lost_answer_and_is_recognised(
    hubspot: HubSpotDouble,
) -> None:
    owner = hubspot.add_owner("ana@example.com")
    company = hubspot.add("companies", {"name": "Acme"})
    writer = HubSpotWriter(settings(hubspot))
    touch = OutgoingTouch(
        "rebuy-touch-7", company, datetime(2026, 3, 2, 9, tzinfo=UTC), "call", "ok"
    )
    # The first upsert is carried out but its answer is lost (a 502 from a gateway).
    hubspot.fail_next(502, path_contains="/batch/upsert", applied=True)

    first = writer.write_touch(touch, owner)
    second = writer.write_touch(touch, owner)  # e.g. the outbox retried after a crash

    assert first.crm_id == second.crm_id and not second.created
    assert len(hubspot.live("calls")) == 1
    (touch_row,) = rows(pull(HubSpotSource(settings(hubspot)), "touches"))
    assert touch_row == TouchRow(
        company,
        datetime(2026, 3, 2, 9, tzinfo=UTC),
        "call",
        "ana@example.com",
        "Call (logged in Rebuy)",
        f"calls:{first.crm_id}",
        "rebuy-touch-7",
    )


@pytest.mark.parametrize(
    ("kind", "object_type"), [("email", "emails"), ("visit", "meetings"), ("note", "notes")]
)
def test_each_touch_kind_becomes_the_matching_engagement(
    hubspot: HubSpotDouble, kind: str, object_type: str
) -> None:
    company = hubspot.add("companies", {"name": "Acme"})
    touch = OutgoingTouch(f"k-{kind}", company, datetime(2026, 3, 2, tzinfo=UTC), kind, "hello")

    written = HubSpotWriter(settings(hubspot)).write_touch(touch, "101")

    (record,) = hubspot.live(object_type)
    assert record.id == written.crm_id and written.created
    assert record.properties["rebuy_touch_id"] == f"k-{kind}"
    assert hubspot.associations[(object_type, "companies")][record.id] == [company]
