"""HubSpot scopes: the README lists exactly what the sync and write-back use, and a token
missing one gets a sentence naming it (from HubSpot's real 403 MISSING_SCOPES answer)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.crm.outbox import drain_outbox
from bot.db import Database
from models import CrmOutbox, SyncRun
from tests.doubles.hubspot_double import HubSpotDouble, required_scopes
from tests.support.cli import run
from tests.support.factories import NOW
from tests.support.paths import README
from tests.support.sync import Clock, react, reminder_on_synced_account, sync, writer_for


def readme_scopes() -> set[str]:
    text = README.read_text(encoding="utf-8")
    part = text[text.index("**HubSpot** (`HUBSPOT_TOKEN`") : text.index("| HubSpot | Rebuy |")]
    return set(re.findall(r"`((?:crm\.[a-z_.]+)|(?:sales-[a-z-]+))`", part))


@pytest.fixture
def hubspot() -> Iterator[HubSpotDouble]:
    with HubSpotDouble() as double:
        double.generate(companies=20, deals=60, activities=60, line_item_share=0.5)
        yield double


def test_the_readme_lists_exactly_the_scopes_sync_and_write_back_use(
    db: Database, hubspot: HubSpotDouble
) -> None:
    assert sync(db, hubspot).status == "ok"
    reminder_on_synced_account(db, hubspot)
    react(db)
    clock = Clock()
    clock.now = NOW + timedelta(hours=1)
    assert drain_outbox(db=db, writers={"hubspot": writer_for(hubspot)}, clock=clock).sent == 1
    react(db, added=False, minutes=8)  # taken back: deleted in HubSpot
    assert drain_outbox(db=db, writers={"hubspot": writer_for(hubspot)}, clock=clock).deleted == 1
    used = set().union(*(required_scopes(method, path) for method, path, _ in hubspot.log))
    listed = readme_scopes()
    # sales-email-read un-redacts logged e-mails' text; the double does not redact.
    assert used == listed - {"sales-email-read"}
    assert "sales-email-read" in listed


@pytest.fixture
def cli_env(db: Database, hubspot: HubSpotDouble, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("REBUY_NOW", NOW.isoformat())
    monkeypatch.setenv("HUBSPOT_TOKEN", hubspot.token)
    monkeypatch.setenv("HUBSPOT_API_URL", hubspot.url)


def test_a_token_without_a_scope_fails_the_sync_with_the_scope_named(
    db: Database, hubspot: HubSpotDouble, cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    hubspot.missing_scopes = {"crm.objects.line_items.read"}
    code, out, err = run(capsys, "sync", "hubspot")
    assert code == 1
    assert (
        "HubSpot refused line items: the access token lacks the scope "
        "crm.objects.line_items.read. In HubSpot, add it to the private app (Settings → "
        "Integrations → Private Apps → your app → Scopes), then run the sync again"
    ) in out
    assert "Traceback" not in out + err and "HTTP 403" not in out
    # Refused once, not retried: waiting does not grant a scope.
    assert hubspot.count("POST", "/line_items/batch/read", status=403) == 1
    with db.session() as session:
        row = session.exec(select(SyncRun)).one()
    assert row.status == "failed" and "crm.objects.line_items.read" in (row.errors or "")
    hubspot.missing_scopes = set()
    code, out, err = run(capsys, "sync", "hubspot")
    assert code == 0, out + err


def test_a_write_back_without_the_write_scope_waits_with_the_scope_named(
    db: Database, hubspot: HubSpotDouble
) -> None:
    sync(db, hubspot)
    reminder_on_synced_account(db, hubspot)
    react(db)
    hubspot.missing_scopes = {"crm.objects.contacts.write"}
    clock = Clock()
    clock.now = NOW + timedelta(hours=1)
    result = drain_outbox(db=db, writers={"hubspot": writer_for(hubspot)}, clock=clock)
    assert result.sent == 0
    assert "lacks the scope crm.objects.contacts.write" in result.auth_failed["hubspot"]
    with db.session() as session:
        item = session.exec(select(CrmOutbox)).one()
    assert item.status == "auth_failed" and "crm.objects.contacts.write" in item.last_error
    hubspot.missing_scopes = set()
    assert drain_outbox(db=db, writers={"hubspot": writer_for(hubspot)}, clock=clock).sent == 1
