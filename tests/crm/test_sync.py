"""The live sync wired end to end: sources -> importer planners -> database, with cursors,
runs, archiving, write-back through the outbox, and a kill -9 half-way."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from bot.crm.base import KINDS
from bot.crm.outbox import drain_outbox
from bot.crm.sync import last_runs, latest_through, run_sync, stored_cursors
from bot.db import Database
from bot.retention.due import due_by_rep
from bot.retention.errors import RebuyError
from bot.retention.lookup import find_account_id
from models import (
    Account,
    CrmOutbox,
    Order,
    OrderFeed,
    SyncRun,
    Touch,
)
from tests.doubles.hubspot_double import HubSpotDouble
from tests.support.factories import NOW
from tests.support.paths import REPO_ROOT as REPO
from tests.support.sync import (
    TIERS,
    Clock,
    counts,
    expected,
    react,
    reminder_on_synced_account,
    source_for,
    sync,
    writer_for,
)


@pytest.fixture
def hubspot() -> Iterator[HubSpotDouble]:
    with HubSpotDouble() as double:
        yield double


def test_a_sync_loads_what_the_source_yields_and_a_second_run_moves_only_the_changes(
    db: Database, hubspot: HubSpotDouble
) -> None:
    hubspot.generate(companies=120, contacts=120, deals=600, activities=1200)
    want = expected(hubspot)
    first = sync(db, hubspot)
    assert first.status == "ok", first.errors
    got = counts(db)
    # Contacts are matched on e-mail or name within an account: generated names repeat.
    assert got["accounts"] == want["accounts"] == 120
    assert got["orders"] == want["orders"]
    assert got["touches"] == want["touches"]
    assert got["contacts"] <= want["contacts"]
    assert first.created == sum(got.values())

    # Ten changes: 4 deals re-priced, 3 companies renamed, 3 new calls.
    deals = [r.id for r in hubspot.live("deals") if r.properties.get("hs_is_closed_won") == "true"]
    for deal in deals[:4]:
        hubspot.update("deals", deal, amount="12345.00")
    companies = [r.id for r in hubspot.live("companies")]
    for company in companies[:3]:
        hubspot.update("companies", company, name=f"Renamed {company}")
    for n in range(3):
        hubspot.add(
            "calls",
            {"hs_timestamp": "2026-06-01T10:00:00.000Z", "hs_call_title": f"New call {n}"},
            companies=(companies[5],),
        )
    second = sync(db, hubspot)
    assert second.status == "ok", second.errors
    assert second.records == 10
    assert (second.created, second.updated) == (3, 7)
    after = counts(db)
    assert after["touches"] == got["touches"] + 3 and after["orders"] == got["orders"]
    with db.session() as session:
        assert session.exec(select(Account).where(Account.external_id == companies[0])).one().name
        amounts = session.exec(select(Order.amount).where(Order.order_id.in_(deals[:4]))).all()
        assert [str(a) for a in amounts] == ["12345.00"] * 4
        runs = last_runs(session)
        assert [r.status for r in runs] == ["ok", "ok"]
        assert runs[0].records == 10 and runs[0].cursor_before != runs[0].cursor_after
        assert latest_through(session, "hubspot") == NOW
        # Each run that synced orders records the feed's cut-off for the re-buy model.
        feeds = session.exec(select(OrderFeed).order_by(OrderFeed.id)).all()
        assert [(f.source, f.through) for f in feeds] == [("hubspot", NOW.date())] * 2
        assert feeds[0].rows == first.per_stream.get("orders") > 0


def test_fields_the_crm_does_not_fill_keep_rebuys_values(
    db: Database, hubspot: HubSpotDouble
) -> None:
    hubspot.generate(companies=20, deals=40, activities=20)
    sync(db, hubspot)
    company = hubspot.live("companies")[0].id
    with db.transaction() as session:
        account = session.exec(select(Account).where(Account.external_id == company)).one()
        account.cadence_days, account.tier = 21, "key"
        session.add(account)
    hubspot.update("companies", company, name="Acme Renamed")
    assert sync(db, hubspot).updated == 1
    with db.session() as session:
        account = session.exec(select(Account).where(Account.external_id == company)).one()
    assert (account.name, account.cadence_days, account.tier) == ("Acme Renamed", 21, "key")


def test_a_dry_run_counts_like_a_real_run_and_changes_nothing(
    db: Database, hubspot: HubSpotDouble
) -> None:
    hubspot.generate(companies=40, deals=150, activities=200)
    dry = sync(db, hubspot, dry_run=True)
    assert counts(db) == dict.fromkeys(KINDS, 0)
    with db.session() as session:
        assert stored_cursors(session, "hubspot") == {}
        assert last_runs(session) == []
    real = sync(db, hubspot)
    assert (dry.created, dry.records, dry.skipped) == (real.created, real.records, real.skipped)
    assert dry.created == sum(counts(db).values())


def test_deleted_and_merged_companies_are_archived_with_their_history(
    db: Database, hubspot: HubSpotDouble
) -> None:
    hubspot.generate(companies=30, deals=200, activities=100)
    sync(db, hubspot)
    deleted, merged, survivor = (r.id for r in hubspot.live("companies")[:3])

    def orders_of(session, external_id: str) -> int:
        return session.execute(
            sa.select(sa.func.count())
            .select_from(Order)
            .join(Account, Account.id == Order.account_id)
            .where(Account.external_id == external_id)
        ).scalar_one()

    def touches_of(session, external_id: str) -> int:
        return session.execute(
            sa.select(sa.func.count())
            .select_from(Touch)
            .join(Account, Account.id == Touch.account_id)
            .where(Account.external_id == external_id)
        ).scalar_one()

    with db.session() as session:
        before = {c: orders_of(session, c) for c in (deleted, merged, survivor)}
        touched = {c: touches_of(session, c) for c in (merged, survivor)}
    assert before[merged] > 0
    hubspot.archive("companies", deleted)
    hubspot.merge_companies(survivor, merged)
    result = sync(db, hubspot)
    assert result.archived == 2
    with db.session() as session:
        rows = {
            a.external_id: a
            for a in session.exec(select(Account).where(Account.external_id.in_([deleted, merged])))
        }
        assert rows[deleted].archived_at is not None and rows[deleted].merged_into is None
        assert rows[merged].archived_at is not None and rows[merged].merged_into == survivor
        # History kept: the deleted company keeps its orders; the merged one's orders and
        # touches now belong to the survivor, as HubSpot shows them.
        assert orders_of(session, deleted) == before[deleted]
        assert orders_of(session, merged) == 0
        assert orders_of(session, survivor) == before[survivor] + before[merged]
        assert touches_of(session, survivor) == touched[survivor] + touched[merged]
        # Archived accounts are left out of reminders and look-ups, reachable by id.
        later = NOW + timedelta(days=400)
        due = due_by_rep(
            session=session,
            as_of=later.date(),
            now=later,
            tier_cadence={"key": 14, "mid": 30, "small": 60},
            limit=1000,
            with_tactics=False,
        )
        due_ids = {item.facts.id for items in due.values() for item in items}
        assert rows[deleted].id not in due_ids and rows[merged].id not in due_ids
        assert due_ids  # others are still due
        gone = rows[deleted]
        assert find_account_id(session=session, query=gone.external_id) == gone.id
        try:
            by_name = find_account_id(session=session, query=gone.name)
        except RebuyError:
            by_name = None
        assert by_name != gone.id


def test_a_failure_half_way_keeps_the_stored_chunks_and_the_next_run_completes_them(
    db: Database, hubspot: HubSpotDouble
) -> None:
    hubspot.generate(companies=50, deals=900, activities=50)
    want = expected(hubspot)
    sync(db, hubspot, streams=["accounts"])
    # HubSpot fails for good on the fourth page of deals: the run stops there.
    source = source_for(hubspot)
    pages = 0
    original = source._call

    def failing(what, call):
        nonlocal pages
        if "deals (search)" in what:
            pages += 1
            if pages == 4:
                hubspot.fail_next(503, times=3, path_contains="/deals/search")
        return original(what, call)

    source._call = failing  # type: ignore[method-assign]
    broken = run_sync(
        db=db, source=source, clock=Clock(), tiers=TIERS, streams=["orders"], chunk_records=100
    )
    assert broken.status == "failed" and "HubSpot kept failing" in broken.errors[0]
    with db.session() as session:
        cursor = stored_cursors(session, "hubspot")["orders"]
        stored = set(session.exec(select(Order.order_id)).all())
        run = last_runs(session)[0]
    assert (run.status, run.through) == ("failed", None)
    # Exactly the won deals up to the cursor are stored: none after it, none missing.
    at = (round(cursor.modified_at.timestamp() * 1000), int(cursor.record_id))
    won = {r.id for r in hubspot.live("deals") if r.properties.get("hs_is_closed_won") == "true"}
    upto = {r.id for r in hubspot.live("deals") if (r.modified, int(r.id)) <= at}
    assert stored == won & upto and 0 < len(stored) < len(won)
    healed = sync(db, hubspot, streams=["orders"])
    assert healed.status == "ok"
    assert counts(db)["orders"] == want["orders"]


@pytest.mark.slow
def test_kill_9_mid_run_loses_and_duplicates_nothing(
    tmp_path: Path, hubspot: HubSpotDouble
) -> None:
    # Eight chunks of orders (SYNC_CHUNK_RECORDS below): killed after the first.
    hubspot.generate(companies=400, contacts=400, deals=1600, activities=2000)
    want = expected(hubspot)
    path = tmp_path / "rebuy.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HUBSPOT", "SYNC_"))}
    env.update(
        DATABASE_URL=f"sqlite:///{path}",
        HUBSPOT_TOKEN=hubspot.token,
        HUBSPOT_API_URL=hubspot.url,
        SYNC_CHUNK_RECORDS="200",
        REBUY_NOW=NOW.isoformat(),
        PYTHONPATH=str(REPO),
    )
    child = subprocess.Popen(
        [sys.executable, "-c", "from bot.cli import main; main()", "sync", "hubspot"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if path.exists():
                try:
                    with sqlite3.connect(path) as raw:
                        done = raw.execute(
                            "SELECT count(*) FROM sync_cursor WHERE stream = 'orders'"
                        ).fetchone()[0]
                except sqlite3.OperationalError:
                    done = 0
                if done:
                    break
            assert child.poll() is None, "the sync finished before it could be killed"
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    db = Database(f"sqlite:///{path}")
    try:
        half = counts(db)
        assert 0 < half["orders"] < want["orders"] and half["touches"] == 0
        with db.session() as session:
            assert [r.status for r in last_runs(session)] == ["running"]
        result = run_sync(db=db, source=source_for(hubspot), clock=Clock(), tiers=TIERS)
        assert result.status == "ok", result.errors
        got = counts(db)
        assert (got["accounts"], got["orders"], got["touches"]) == (
            want["accounts"],
            want["orders"],
            want["touches"],
        )
        with db.session() as session:
            assert [r.status for r in last_runs(session)] == ["ok", "interrupted"]
            dupes = session.execute(
                sa.select(Order.order_id).group_by(Order.order_id).having(sa.func.count() > 1)
            ).all()
            assert dupes == []
    finally:
        db.dispose()


# --- write-back ------------------------------------------------------------------------


def calls_with_key(double: HubSpotDouble) -> list:
    return [r for r in double.live("calls") if (r.properties.get("rebuy_touch_id") or "")]


def test_a_reaction_touch_reaches_the_crm_once_through_a_5xx_and_is_not_imported_again(
    db: Database, hubspot: HubSpotDouble
) -> None:
    hubspot.generate(companies=20, deals=60, activities=80)
    sync(db, hubspot)
    company, owner = reminder_on_synced_account(db, hubspot)
    react(db)
    with db.session() as session:
        item = session.exec(select(CrmOutbox)).one()
        touch = session.exec(select(Touch).where(Touch.source == "reaction")).one()
    assert (item.touch_id, item.status, item.account_external_id) == (touch.id, "pending", company)
    assert item.key.startswith("rebuy-")
    # The CRM writes the call and then loses its answer (twice: every quick retry).
    hubspot.fail_next(503, times=2, path_contains="/calls/batch/upsert", applied=True)
    clock = Clock()
    clock.now = NOW + timedelta(minutes=6)
    first = drain_outbox(db=db, writers={"hubspot": writer_for(hubspot)}, clock=clock)
    assert (first.sent, first.retrying) == (0, 1)
    again = drain_outbox(db=db, writers={"hubspot": writer_for(hubspot)}, clock=clock)
    assert again.sent == 0  # backing off
    clock.now += timedelta(minutes=2)
    done = drain_outbox(db=db, writers={"hubspot": writer_for(hubspot)}, clock=clock)
    assert done.sent == 1
    written = calls_with_key(hubspot)
    assert len(written) == 1
    assert written[0].properties["rebuy_touch_id"] == item.key
    assert written[0].properties["hubspot_owner_id"] == owner
    assert drain_outbox(db=db, writers={"hubspot": writer_for(hubspot)}, clock=clock).sent == 0

    result = sync(db, hubspot, clock)
    assert result.linked == 1 and result.created == 0
    with db.session() as session:
        ours = session.exec(select(Touch).join(Account).where(Account.external_id == company)).all()
        assert [t.source for t in ours].count("reaction") == 1
        assert all(t.dedupe_key != f"import:calls:{written[0].id}" for t in ours)
        assert session.exec(select(CrmOutbox)).one().crm_id == written[0].id


def test_a_touch_taken_back_is_never_sent_or_is_deleted_in_the_crm(
    db: Database, hubspot: HubSpotDouble
) -> None:
    hubspot.generate(companies=10, deals=20, activities=20)
    sync(db, hubspot)
    reminder_on_synced_account(db, hubspot)
    writers = {"hubspot": writer_for(hubspot)}
    clock = Clock()
    clock.now = NOW + timedelta(hours=1)
    react(db)
    react(db, added=False, minutes=6)
    assert drain_outbox(db=db, writers=writers, clock=clock).sent == 0
    assert calls_with_key(hubspot) == []
    with db.session() as session:
        assert session.exec(select(CrmOutbox.status)).all() == ["cancelled"]

    react(db, minutes=7)
    assert drain_outbox(db=db, writers=writers, clock=clock).sent == 1
    assert len(calls_with_key(hubspot)) == 1
    react(db, added=False, minutes=8)
    assert drain_outbox(db=db, writers=writers, clock=clock).deleted == 1
    assert calls_with_key(hubspot) == []
    with db.session() as session:
        assert sorted(session.exec(select(CrmOutbox.status)).all()) == ["cancelled", "deleted"]
        assert session.exec(select(Touch).where(Touch.source == "reaction")).all() == []


def test_an_expired_token_stops_the_write_back_with_a_clear_status(
    db: Database, hubspot: HubSpotDouble
) -> None:
    hubspot.generate(companies=10, deals=20, activities=20)
    sync(db, hubspot)
    reminder_on_synced_account(db, hubspot)
    react(db)
    hubspot.expire_token()
    clock = Clock()
    clock.now = NOW + timedelta(hours=1)
    result = drain_outbox(db=db, writers={"hubspot": writer_for(hubspot)}, clock=clock)
    assert result.sent == 0 and "expired" in result.auth_failed["hubspot"]
    with db.session() as session:
        item = session.exec(select(CrmOutbox)).one()
        assert item.status == "auth_failed" and "HTTP 401" in (item.last_error or "")
    assert calls_with_key(hubspot) == []


def test_a_touch_on_an_account_from_files_is_not_queued(db: Database) -> None:
    from tests.support import factories as f

    with db.transaction() as session:
        rep = f.rep(session, slack_user_id="UANA")
        f.account(session, owner_id=rep.id)
    with db.transaction() as session:
        from bot.retention.actions import Actor, log_touch

        account = session.exec(select(Account)).one()
        log_touch(
            session=session,
            account_id=account.id,
            kind="call",
            now=NOW,
            actor=Actor("UANA"),
            source="command",
        )
    with db.session() as session:
        assert session.exec(select(CrmOutbox)).all() == []
        assert session.exec(select(SyncRun)).all() == []
