"""Every CRM preset, imported from an export file as the vendor writes it (hand-written to
the vendors' documented export columns, unedited), through the CLI: the dry run names
the preset and the mapping, the real run stores the rows."""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from bot.db import Database
from models import Account, Contact, Order, Touch
from tests.support import factories as f
from tests.support.cli import NOW, run
from tests.support.paths import EXPORTS

# (kind, file, preset named in the dry run, a mapping line it shows, rows stored)
VENDORS = {
    "salesforce": [
        (
            "accounts",
            "salesforce_accounts.csv",
            "Salesforce Accounts",
            "external_id ← “Account ID”",
            3,
        ),
        (
            "contacts",
            "salesforce_contacts.csv",
            "Salesforce Contacts",
            "account_external_id ← “Account ID”",
            3,
        ),
        (
            "orders",
            "salesforce_orders.csv",
            "Salesforce Orders",
            "order_id ← “Order Number”",
            3,
        ),  # the Draft order is left out
        (
            "touches",
            "salesforce_tasks_events.csv",
            "Salesforce Tasks and Events",
            "touched_at ← “Date”",
            3,
        ),  # the Not Started task is left out
    ],
    "hubspot": [
        ("accounts", "hubspot_companies.csv", "HubSpot Companies", "external_id ← “Record ID”", 3),
        (
            "contacts",
            "hubspot_contacts.csv",
            "HubSpot Contacts",
            "account_external_id ← “Associated Company IDs (Primary)”",
            3,
        ),
        ("orders", "hubspot_deals.csv", "HubSpot Deals", "ordered_at ← “Close Date”", 2),
        ("touches", "hubspot_emails.csv", "HubSpot Emails", "note ← “Email body”", 2),
        ("touches", "hubspot_meetings.csv", "HubSpot Meetings", "note ← “Meeting description”", 2),
    ],
    "pipedrive": [
        (
            "accounts",
            "pipedrive_organizations.csv",
            "Pipedrive Organizations",
            "external_id ← “Organization - ID”",
            3,
        ),
        (
            "contacts",
            "pipedrive_persons.csv",
            "Pipedrive Persons",
            "email ← “Person - Email - Work”",
            3,
        ),
        (
            "touches",
            "pipedrive_activities.csv",
            "Pipedrive Activities",
            "touch_id ← “Activity - ID”",
            2,
        ),  # the activity not done yet is left out
    ],
}
TABLES = {"accounts": Account, "contacts": Contact, "orders": Order, "touches": Touch}


@pytest.fixture
def workspace(db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("REBUY_NOW", NOW)
    with db.transaction() as session:
        for email, name in (
            ("ana@example.com", "Ana Ruiz"),
            ("ben@example.com", "Ben Okafor"),
            ("jane.doe@example.com", "Jane Doe"),
            ("sam.lee@example.com", "Sam Lee"),
        ):
            f.rep(session, email=email, name=name)
    return db


def _count(db: Database, model) -> int:
    with db.session() as session:
        return session.exec(select(func.count()).select_from(model)).one()


@pytest.mark.parametrize("vendor", sorted(VENDORS))
def test_each_vendor_export_imports_unedited(workspace, capsys, vendor: str) -> None:
    for kind, name, preset, mapping, stored in VENDORS[vendor]:
        path = EXPORTS / name
        before = _count(workspace, TABLES[kind])
        code, out, err = run(capsys, "import", kind, str(path), "--dry-run")
        assert code == 0, f"{name}: {err}"
        assert f"{preset} preset" in out, (name, out)
        assert mapping in out, (name, out)
        assert _count(workspace, TABLES[kind]) == before  # a dry run writes nothing
        code, out, err = run(capsys, "import", kind, str(path))
        assert code == 0, f"{name}: {err}"
        assert _count(workspace, TABLES[kind]) - before == stored, (name, out)
    with workspace.session() as session:
        owned = session.exec(select(func.count()).where(Account.owner_id.is_not(None))).one()
    assert owned == 3  # owners matched by e-mail or by the rep's name
