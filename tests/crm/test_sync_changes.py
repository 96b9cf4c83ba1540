"""What a CRM changes under Rebuy's feet: meetings booked for later, cancelled meetings,
contacts deleted or taken off a company, malformed records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from bot.crm.hubspot import HubSpotSource
from bot.crm.outbox import drain_outbox
from bot.crm.sync import run_sync, stored_cursors
from bot.db import Database
from bot.retention.status import account_status
from models import Account, Contact, CrmOutbox, SyncPlanned, SyncRun, Touch
from tests.doubles.hubspot_double import HubSpotDouble, iso_ms
from tests.support.factories import NOW
from tests.support.sync import (
    TIERS,
    Clock,
    react,
    reminder_on_synced_account,
    source_for,
    writer_for,
)

CADENCE = {"key": 14, "mid": 30, "small": 60}


@pytest.fixture
def hubspot() -> Iterator[HubSpotDouble]:
    with HubSpotDouble() as double:
        double.generate(companies=12, contacts=30, deals=30, activities=30, owners=3)
        yield double


def sync_at(db: Database, double: HubSpotDouble, when, source: HubSpotSource | None = None):
    clock = Clock()
    clock.now = when
    result = run_sync(db=db, source=source or source_for(double), clock=clock, tiers=TIERS)
    assert result.status in ("ok", "partial"), result.errors
    return result


def card(db: Database, external_id: str, when) -> dict:
    with db.session() as session:
        account = session.exec(select(Account).where(Account.external_id == external_id)).one()
        status = account_status(
            session=session, account_id=account.id, now=when, tier_cadence=CADENCE
        )
        return status.to_dict()


def touch_keys(db: Database) -> set[str]:
    with db.session() as session:
        return set(session.exec(select(Touch.dedupe_key)).all())


def held(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.exec(select(SyncPlanned.touch_key)).all())


def test_a_meeting_booked_for_next_week_counts_once_it_has_happened(
    db: Database, hubspot: HubSpotDouble
) -> None:
    company = hubspot.live("companies")[0].id
    sync_at(db, hubspot, NOW)
    # Yesterday's call, and a meeting the rep booked in HubSpot for next week.
    hubspot.add(
        "calls",
        {"hs_timestamp": iso_ms(int((NOW - timedelta(days=1)).timestamp() * 1000))},
        companies=(company,),
    )
    next_week = NOW + timedelta(days=7)
    meeting = hubspot.add(
        "meetings",
        {
            "hs_timestamp": iso_ms(int(next_week.timestamp() * 1000)),
            "hs_meeting_title": "Quarterly review",
            "hs_meeting_outcome": "SCHEDULED",
        },
        companies=(company,),
    )
    booked = hubspot.tables["meetings"].records[meeting].modified

    first = sync_at(db, hubspot, NOW)
    assert (first.records, first.created, first.planned) == (2, 1, 1)
    assert "1 planned for later" in first.summary()
    # The cursor follows HubSpot's modification time, never the meeting's date.
    cursor = stored_cursors_of(db)["touches"]
    assert round(cursor.modified_at.timestamp() * 1000) == booked
    assert cursor.modified_at < NOW
    # Not a touch yet: the card's last touch is yesterday's call.
    assert f"import:meetings:{meeting}" not in touch_keys(db)
    assert held(db) == [f"meetings:{meeting}"]
    assert card(db, company, NOW)["last_touch"]["kind"] == "call"

    # Three days on, nothing changed in HubSpot: still planned.
    assert sync_at(db, hubspot, NOW + timedelta(days=3)).created == 0
    assert held(db) == [f"meetings:{meeting}"]
    # The day after the meeting: it is a touch on its own date, though HubSpot never
    # touched the record again (the cursor passed it a week ago).
    after = NOW + timedelta(days=8)
    later = sync_at(db, hubspot, after)
    assert (later.records, later.created, later.planned) == (0, 1, 0)
    assert held(db) == []
    last = card(db, company, after)["last_touch"]
    assert (last["kind"], last["at"]) == ("meeting", next_week.isoformat())
    assert sync_at(db, hubspot, after).created == 0  # once


def stored_cursors_of(db: Database):
    with db.session() as session:
        return stored_cursors(session, "hubspot")


def test_cancelled_and_rescheduled_meetings(db: Database, hubspot: HubSpotDouble) -> None:
    company = hubspot.live("companies")[1].id
    sync_at(db, hubspot, NOW)
    in_days = lambda n: iso_ms(int((NOW + timedelta(days=n)).timestamp() * 1000))  # noqa: E731
    cancelled = hubspot.add("meetings", {"hs_timestamp": in_days(5)}, companies=(company,))
    moved = hubspot.add("meetings", {"hs_timestamp": in_days(9)}, companies=(company,))
    held_then_done = hubspot.add("meetings", {"hs_timestamp": in_days(2)}, companies=(company,))
    assert sync_at(db, hubspot, NOW).planned == 3

    hubspot.update("meetings", cancelled, hs_meeting_outcome="CANCELED")
    hubspot.update("meetings", moved, hs_timestamp=in_days(-1))  # brought forward: it happened
    result = sync_at(db, hubspot, NOW)
    assert held(db) == [f"meetings:{held_then_done}"]
    assert (result.created, result.planned) == (1, 0)
    keys = touch_keys(db)
    assert f"import:meetings:{moved}" in keys and f"import:meetings:{cancelled}" not in keys

    # It happened, was imported, and was then marked a no-show: no longer a touch.
    sync_at(db, hubspot, NOW + timedelta(days=3))
    assert f"import:meetings:{held_then_done}" in touch_keys(db)
    hubspot.update("meetings", held_then_done, hs_meeting_outcome="NO_SHOW")
    gone = sync_at(db, hubspot, NOW + timedelta(days=3))
    assert gone.removed == 1 and f"import:meetings:{held_then_done}" not in touch_keys(db)
    assert sync_at(db, hubspot, NOW + timedelta(days=30)).created == 0


def live_contacts(db: Database, external_id: str) -> list[tuple[str, str | None]]:
    with db.session() as session:
        account = session.exec(select(Account).where(Account.external_id == external_id)).one()
        rows = session.exec(
            select(Contact).where(Contact.account_id == account.id, Contact.archived_at.is_(None))
        ).all()
        return sorted((c.name, c.external_id) for c in rows)


def test_contacts_deleted_or_taken_off_a_company_are_archived_not_dropped(
    db: Database, hubspot: HubSpotDouble
) -> None:
    sync_at(db, hubspot, NOW)
    links = hubspot.associations[("contacts", "companies")]
    by_company: dict[str, list[str]] = {}
    for contact, companies in links.items():
        by_company.setdefault(companies[0], []).append(contact)
    company, people = next((c, p) for c, p in sorted(by_company.items()) if len(p) >= 3)
    other = next(c for c in by_company if c != company)
    deleted, moved, dropped = people[:3]
    before = live_contacts(db, company)
    assert {ext for _, ext in before} >= {deleted, moved, dropped}
    assert len(card(db, company, NOW)["contacts"]) == len(before)

    hubspot.archive("contacts", deleted)  # deleted in HubSpot
    hubspot.dissociate("contacts", moved, "companies", company)  # moved to another company
    hubspot.associate("contacts", moved, "companies", other)
    hubspot.dissociate("contacts", dropped, "companies", company)  # on no company any more
    result = sync_at(db, hubspot, NOW)
    assert result.removed == 3

    left = live_contacts(db, company)
    assert {ext for _, ext in left} == {ext for _, ext in before} - {deleted, moved, dropped}
    assert len(card(db, company, NOW)["contacts"]) == len(left)
    assert moved in {ext for _, ext in live_contacts(db, other)}
    with db.session() as session:
        kept = session.exec(
            select(Contact).where(Contact.external_id.in_([deleted, moved, dropped]))
        ).all()
    # Archived, never deleted: the rows are still there.
    assert sorted(c.external_id for c in kept if c.archived_at is not None) == sorted(
        [deleted, moved, dropped]
    )
    # Put back on the company in HubSpot: live again, the same row.
    hubspot.associate("contacts", dropped, "companies", company)
    hubspot.update("contacts", dropped, jobtitle="Buyer")
    sync_at(db, hubspot, NOW)
    assert dropped in {ext for _, ext in live_contacts(db, company)}
    with db.session() as session:
        assert len(session.exec(select(Contact).where(Contact.external_id == dropped)).all()) == 1


def test_malformed_records_are_listed_and_the_rest_is_synced(
    db: Database, hubspot: HubSpotDouble
) -> None:
    company = hubspot.live("companies")[2].id
    bad_deal = hubspot.add(
        "deals",
        {"amount": "100", "closedate": "next tuesday", "hs_is_closed_won": "true"},
        companies=(company,),
    )
    bad_call = hubspot.add("calls", {"hs_timestamp": "soon"}, companies=(company,))
    good_call = hubspot.add("calls", {"hs_timestamp": "2026-05-01T10:00:00Z"}, companies=(company,))
    result = sync_at(db, hubspot, NOW)
    assert result.status == "partial"
    assert f"orders record {bad_deal}: closedate “next tuesday” is not a date" in result.errors
    assert f"touches record {bad_call}: hs_timestamp “soon” is not a time" in result.errors
    assert f"import:calls:{good_call}" in touch_keys(db)
    with db.session() as session:
        run = session.exec(select(SyncRun)).one()
        assert run.status == "partial" and "next tuesday" in (run.errors or "")
        assert session.execute(sa.select(sa.func.count()).select_from(Account)).scalar() == 12


def test_a_touch_waiting_for_write_back_follows_its_company_into_a_merge(
    db: Database, hubspot: HubSpotDouble
) -> None:
    sync_at(db, hubspot, NOW)
    company, _owner = reminder_on_synced_account(db, hubspot)
    react(db)
    survivor = next(r.id for r in hubspot.live("companies") if r.id != company)
    hubspot.merge_companies(survivor, company)
    sync_at(db, hubspot, NOW)
    with db.session() as session:
        assert session.exec(select(CrmOutbox.account_external_id)).one() == survivor
        reaction = session.exec(select(Touch).where(Touch.source == "reaction")).one()
        assert session.get(Account, reaction.account_id).external_id == survivor
    clock = Clock()
    clock.now = NOW + timedelta(hours=1)
    assert drain_outbox(db=db, writers={"hubspot": writer_for(hubspot)}, clock=clock).sent == 1
    (call,) = [r for r in hubspot.live("calls") if r.properties.get("rebuy_touch_id")]
    assert hubspot.associations[("calls", "companies")][call.id] == [survivor]


def test_salesforce_contacts_deleted_or_taken_off_their_account_are_archived(
    db: Database,
) -> None:
    from bot.crm.salesforce import SalesforceSource
    from tests.doubles.salesforce_double import SalesforceDouble
    from tests.support.sync import settings

    with SalesforceDouble(batch_size=200) as org:
        org.generate(accounts=5, contacts=20, opportunities=10, activities=10)
        sync_at(db, org, NOW, SalesforceSource(settings(org)))  # type: ignore[arg-type]
        gone, loose = list(org.objects["Contact"])[:2]
        org.delete("Contact", gone)
        org.update("Contact", loose, AccountId=None)
        result = sync_at(db, org, NOW, SalesforceSource(settings(org)))  # type: ignore[arg-type]
    assert result.removed == 2
    with db.session() as session:
        rows = session.exec(select(Contact).where(Contact.external_id.in_([gone, loose]))).all()
        assert len(rows) == 2 and all(c.archived_at is not None for c in rows)
        live = session.exec(select(Contact).where(Contact.archived_at.is_(None))).all()
        assert len(live) == 18


def test_rate_limits_with_retry_after_and_5xx_after_success_end_in_a_complete_sync(
    db: Database,
) -> None:
    from bot.crm.base import RetryPolicy
    from bot.crm.hubspot import HubSpotSettings
    from tests.support.sync import counts, expected

    with HubSpotDouble(retry_after=True) as double:
        double.generate(companies=200, contacts=0, deals=200, activities=100, owners=2)
        want = expected(double)
        double.rate_limit = (8, 10.0)  # eight calls per ten seconds from now on
        double.freeze_clock()  # time moves only when the sync waits
        asked = double.count("POST", "/companies/search")
        waits: list[float] = []

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            double.advance(seconds)

        source = HubSpotSource(
            HubSpotSettings(
                access_token=double.token,
                host=double.url,
                page_size=100,  # 200 companies: exactly two full pages
                retry=RetryPolicy(attempts=4, sleep=sleep),
            )
        )
        original = source._call
        pages = 0

        def flaky(what, call):
            nonlocal pages
            if "deals (search)" in what:
                pages += 1
                if pages == 2:  # HubSpot fails after answering the first page well
                    double.fail_next(502, times=2, path_contains="/deals/search")
            return original(what, call)

        source._call = flaky  # type: ignore[method-assign]
        result = run_sync(db=db, source=source, clock=Clock(), tiers=TIERS)
        assert result.status == "ok", result.errors
        assert double.count("POST", "", status=429) > 0
        assert 10.0 in waits  # HubSpot's Retry-After, honoured
        assert double.count("POST", "/deals/search", status=502) == 2
        # Two full pages of companies, and no third request for an empty page.
        assert double.count("POST", "/companies/search", status=200) - asked == 2
    got = counts(db)
    assert (got["accounts"], got["orders"], got["touches"]) == (
        want["accounts"],
        want["orders"],
        want["touches"],
    )


def test_a_deal_moved_to_another_company_is_one_order_on_the_new_one(
    db: Database, hubspot: HubSpotDouble
) -> None:
    from bot.retention.summary import refresh_summary
    from models import AccountSummary, Order

    sync_at(db, hubspot, NOW)
    deal = next(r for r in hubspot.live("deals") if r.properties["hs_is_closed_won"] == "true")
    old = hubspot.associations[("deals", "companies")][deal.id][0]
    new = next(c.id for c in hubspot.live("companies") if c.id != old)
    hubspot.dissociate("deals", deal.id, "companies", old)
    hubspot.associate("deals", deal.id, "companies", new)
    hubspot.update("deals", deal.id, amount="777")
    result = sync_at(db, hubspot, NOW)
    assert (result.created, result.removed) == (1, 1)

    def copies():
        with db.session() as session:
            return session.execute(
                sa.select(Account.external_id, Order.amount)
                .join(Account, Account.id == Order.account_id)
                .where(Order.order_key == deal.id)
            ).all()

    def summaries():
        with db.session() as session:
            return sorted(tuple(r) for r in session.execute(sa.select(AccountSummary.__table__)))

    assert [(a, float(m)) for a, m in copies()] == [(new, 777.0)]
    stored = summaries()
    with db.transaction() as session:
        refresh_summary(session.connection(), None, today=NOW.date())
    assert summaries() == stored


def test_an_imported_meeting_moved_to_next_week_is_no_touch_until_then(
    db: Database, hubspot: HubSpotDouble
) -> None:
    company = hubspot.live("companies")[2].id
    sync_at(db, hubspot, NOW)
    at = lambda n: iso_ms(int((NOW + timedelta(days=n)).timestamp() * 1000))  # noqa: E731
    meeting = hubspot.add("meetings", {"hs_timestamp": at(-1)}, companies=(company,))
    sync_at(db, hubspot, NOW)
    assert f"import:meetings:{meeting}" in touch_keys(db)
    hubspot.update("meetings", meeting, hs_timestamp=at(7))  # moved to next week
    assert sync_at(db, hubspot, NOW).planned == 1
    assert f"import:meetings:{meeting}" not in touch_keys(db)
    assert held(db) == [f"meetings:{meeting}"]
    assert sync_at(db, hubspot, NOW + timedelta(days=8)).created == 1
    assert f"import:meetings:{meeting}" in touch_keys(db) and held(db) == []
