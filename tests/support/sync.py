"""HubSpot sync test helpers: a source and writer on the HubSpot double, a clock, counts."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from bot.crm.base import KINDS, RetryPolicy
from bot.crm.hubspot import HubSpotSettings, HubSpotSource
from bot.crm.salesforce import SalesforceSettings
from bot.crm.sync import run_sync
from bot.crm.writeback import HubSpotWriter
from bot.db import Database
from bot.retention.reactions import apply_reaction
from models import (
    Account,
    Rep,
)
from tests.doubles.hubspot_double import HubSpotDouble
from tests.doubles.salesforce_double import SalesforceDouble
from tests.support import factories as f
from tests.support.factories import NOW

TIERS = ("key", "mid", "small")


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self):
        return self.now


def source_for(double: HubSpotDouble, **retry: object) -> HubSpotSource:
    policy = RetryPolicy(attempts=3, sleep=lambda s: None, **retry)  # type: ignore[arg-type]
    return HubSpotSource(
        HubSpotSettings(access_token=double.token, host=double.url, page_size=100, retry=policy)
    )


def expected(double: HubSpotDouble) -> dict[str, int]:
    """What the source itself yields per kind (distinct ids), read without the sync."""
    source = source_for(double)
    found: dict[str, set[str]] = {}
    for kind in KINDS:
        ids = found.setdefault(kind, set())
        for batch in source.pull(kind):
            for row in batch.rows:
                key = getattr(row, "order_id", None) or getattr(row, "external_id", None)
                ids.add(f"{getattr(row, 'account_external_id', '')}/{key}")
    return {kind: len(ids) for kind, ids in found.items()}


def counts(db: Database) -> dict[str, int]:
    with db.session() as session:
        return {
            kind: session.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one()
            for kind, table in (
                ("accounts", "account"),
                ("contacts", "contact"),
                ("orders", "order"),
                ("touches", "touch"),
            )
        }


def sync(db: Database, double: HubSpotDouble, clock: Clock | None = None, **options):
    return run_sync(
        db=db, source=source_for(double), clock=clock or Clock(), tiers=TIERS, **options
    )


def writer_for(double: HubSpotDouble) -> HubSpotWriter:
    policy = RetryPolicy(attempts=2, sleep=lambda s: None)
    return HubSpotWriter(HubSpotSettings(access_token=double.token, host=double.url, retry=policy))


def reminder_on_synced_account(db: Database, double: HubSpotDouble) -> tuple[str, str]:
    """A reminder to the owner of a synced company; (its CRM id, the owner's CRM id)."""
    with db.transaction() as session:
        account = session.exec(
            select(Account).where(Account.owner_id.is_not(None)).order_by(Account.id)
        ).first()
        assert account is not None and account.crm_source == "hubspot"
        rep = session.get(Rep, account.owner_id)
        rep.slack_user_id = "UREP"
        session.add(rep)
        f.sent_reminder(session, rep.id, account.id, channel="DREP", ts="1700000000.000100")
        owner = next(o["id"] for o in double.owners if o["email"] == rep.email)
        return account.external_id, owner


def react(db: Database, *, added: bool = True, minutes: int = 5) -> None:
    with db.transaction() as session:
        apply_reaction(
            session=session,
            channel="DREP",
            ts="1700000000.000100",
            user="UREP",
            reaction="phone",
            added=added,
            now=NOW + timedelta(minutes=minutes),
        )


def settings(double: SalesforceDouble) -> SalesforceSettings:
    return SalesforceSettings(
        instance_url=double.url,
        session_id=double.session_id,
        session=double.session(),
        retry=RetryPolicy(attempts=2, sleep=lambda s: None),
    )
