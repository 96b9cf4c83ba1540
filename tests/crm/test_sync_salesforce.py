"""The live sync and write-back wired end to end against the Salesforce double."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.crm.base import KINDS
from bot.crm.outbox import drain_outbox
from bot.crm.salesforce import SalesforceSource
from bot.crm.sync import run_sync
from bot.crm.writeback import SalesforceWriter
from bot.db import Database
from bot.retention.reactions import apply_reaction
from models import Account, CrmOutbox, Rep, Touch
from tests.doubles.salesforce_double import SalesforceDouble
from tests.support import factories as f
from tests.support.factories import NOW
from tests.support.sync import Clock, counts, settings

TIERS = ("key", "mid", "small")


@pytest.fixture
def org() -> Iterator[SalesforceDouble]:
    with SalesforceDouble(batch_size=250) as double:
        yield double


def sync(db: Database, double: SalesforceDouble, clock: Clock | None = None):
    source = SalesforceSource(settings(double))
    return run_sync(db=db, source=source, clock=clock or Clock(), tiers=TIERS)


def expected(double: SalesforceDouble) -> dict[str, int]:
    source = SalesforceSource(settings(double))
    return {kind: sum(len(b.rows) for b in source.pull(kind)) for kind in KINDS}


def test_salesforce_loads_everything_and_then_moves_exactly_ten_changes(
    db: Database, org: SalesforceDouble
) -> None:
    org.generate(accounts=80, contacts=80, opportunities=400, activities=600)
    want = expected(org)
    first = sync(db, org)
    assert first.status == "ok", first.errors
    got = counts(db)
    assert (got["accounts"], got["orders"], got["touches"]) == (
        want["accounts"],
        want["orders"],
        want["touches"],
    )
    won = [o for o, r in org.objects["Opportunity"].items() if r["IsWon"]]
    for opportunity in won[:6]:
        org.update("Opportunity", opportunity, Amount=777.0)
    for account in list(org.objects["Account"])[:4]:
        org.update("Account", account, Name=f"Renamed {account}")
    second = sync(db, org)
    assert (second.records, second.updated, second.created) == (10, 10, 0)
    assert counts(db) == got


def test_a_reaction_touch_becomes_one_task_through_a_5xx_and_one_touch_after_the_sync(
    db: Database, org: SalesforceDouble
) -> None:
    org.generate(accounts=10, contacts=10, opportunities=30, activities=20)
    sync(db, org)
    with db.transaction() as session:
        account = session.exec(select(Account).order_by(Account.id)).first()
        assert account is not None and account.crm_source == "salesforce"
        rep = session.get(Rep, account.owner_id)
        rep.slack_user_id = "UREP"
        session.add(rep)
        f.sent_reminder(session, rep.id, account.id, channel="DREP", ts="1700000000.000100")
        company, email = account.external_id, rep.email
    with db.transaction() as session:
        apply_reaction(
            session=session,
            channel="DREP",
            ts="1700000000.000100",
            user="UREP",
            reaction="email",
            added=True,
            now=NOW + timedelta(minutes=5),
        )
    writers = {"salesforce": SalesforceWriter(settings(org))}
    org.fail_next(503, times=2, path_contains="/sobjects/Task/Rebuy_Touch_Id__c", applied=True)
    clock = Clock()
    clock.now = NOW + timedelta(minutes=6)
    assert drain_outbox(db=db, writers=writers, clock=clock).retrying == 1
    clock.now += timedelta(minutes=5)
    assert drain_outbox(db=db, writers=writers, clock=clock).sent == 1
    tasks = [t for t in org.objects["Task"].values() if t.get("Rebuy_Touch_Id__c")]
    assert len(tasks) == 1
    owner = next(u for u, r in org.objects["User"].items() if r["Email"] == email)
    assert (tasks[0]["WhatId"], tasks[0]["OwnerId"], tasks[0]["Type"]) == (company, owner, "Email")

    result = sync(db, org, clock)
    assert (result.linked, result.created) == (1, 0)
    with db.session() as session:
        touches = session.exec(select(Touch).join(Account).where(Account.external_id == company))
        assert [t.source for t in touches].count("reaction") == 1
        item = session.exec(select(CrmOutbox)).one()
        assert (item.status, item.crm_id) == ("sent", tasks[0]["Id"])
