"""Salesforce sessions from credentials: the SOAP username/password login and the OAuth
client credentials flow (simple-salesforce's SalesforceLogin against the double), a
refused login, and a session that expires half-way through a sync."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests
from requests.adapters import HTTPAdapter
from sqlmodel import select

from bot.crm.base import KINDS, RetryPolicy, SourceAuthError
from bot.crm.salesforce import SalesforceSettings, SalesforceSource
from bot.crm.salesforce_auth import SalesforceCredentials
from bot.crm.sync import run_sync
from bot.crm.writeback import OutgoingTouch, SalesforceWriter
from bot.db import Database
from models import Account
from tests.doubles.salesforce_double import SalesforceDouble
from tests.support.cli import run
from tests.support.factories import NOW
from tests.support.sync import TIERS, Clock, counts

USER, PASSWORD, TOKEN = "integration@acme.example", "pa<ss>&word", "SECTOKEN42"
MY_DOMAIN = "https://acme.my.salesforce.com"


@pytest.fixture
def org() -> Iterator[SalesforceDouble]:
    with SalesforceDouble(batch_size=200) as double:
        double.generate(accounts=30, contacts=30, opportunities=120, activities=120)
        double.add_login(USER, PASSWORD, TOKEN)
        double.apps["3MVG9-rebuy"] = "s3cret"
        yield double


@pytest.fixture
def login_env(
    db: Database, org: SalesforceDouble, monkeypatch: pytest.MonkeyPatch
) -> SalesforceDouble:
    for name in ("SALESFORCE_INSTANCE_URL", "SALESFORCE_TOKEN", "HUBSPOT_TOKEN", "SYNC_SQL_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("REBUY_NOW", NOW.isoformat())
    monkeypatch.setenv("SALESFORCE_USERNAME", USER)
    monkeypatch.setenv("SALESFORCE_PASSWORD", PASSWORD)
    monkeypatch.setenv("SALESFORCE_SECURITY_TOKEN", TOKEN)
    monkeypatch.setenv("SALESFORCE_LOGIN_URL", org.url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", org.ca_bundle)  # trust the double's throw-away CA
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return org


def test_rebuy_sync_logs_in_with_username_password_and_security_token(
    db: Database, login_env: SalesforceDouble, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "sync", "salesforce")
    assert code == 0, out + err
    assert login_env.logins >= 1 and login_env.count("POST", "/services/Soap/u/59.0") >= 1
    assert counts(db)["accounts"] == 30
    with db.session() as session:
        assert {a.crm_source for a in session.exec(select(Account))} == {"salesforce"}


def test_a_refused_login_says_what_to_check(
    db: Database,
    login_env: SalesforceDouble,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SALESFORCE_SECURITY_TOKEN", "OLDTOKEN")
    code, out, err = run(capsys, "sync", "salesforce")
    assert code == 1
    said = out + err
    assert (
        f"Salesforce refused the login of {USER} (INVALID_LOGIN: Invalid username, password, "
        "security token; or user locked out.). Check the username, password and security "
        "token (a password change issues a new security token)"
    ) in said
    assert "Traceback" not in said and login_env.logins == 0
    assert counts(db)["accounts"] == 0


def credentials(org: SalesforceDouble, **overrides: object) -> SalesforceCredentials:
    options: dict[str, object] = {
        "username": USER,
        "password": PASSWORD,
        "security_token": TOKEN,
        "login_url": org.url,
        "session": org.session(),
    }
    options.update(overrides)
    return SalesforceCredentials(**options)  # type: ignore[arg-type]


def logged_in(org: SalesforceDouble, creds: SalesforceCredentials) -> SalesforceSettings:
    return SalesforceSettings.logged_in(
        creds, session=org.session(), retry=RetryPolicy(attempts=2, sleep=lambda s: None)
    )


def test_a_session_that_expires_half_way_is_renewed_and_the_sync_completes(
    db: Database, org: SalesforceDouble
) -> None:
    source = SalesforceSource(logged_in(org, credentials(org)))
    want = {
        kind: sum(
            len(b.rows) for b in SalesforceSource(logged_in(org, credentials(org))).pull(kind)
        )
        for kind in KINDS
    }
    before = org.logins
    original = source._retried
    calls = 0

    def expiring(what, call):
        nonlocal calls
        calls += 1
        if calls == 4:
            org.expire_session()  # two hours later: Salesforce ends the session
        return original(what, call)

    source._retried = expiring  # type: ignore[method-assign]
    result = run_sync(db=db, source=source, clock=Clock(), tiers=TIERS)
    assert result.status == "ok", result.errors
    assert org.logins == before + 1  # one new login, then on with the same pull
    assert org.count("GET", "/query", status=401) == 1
    got = counts(db)
    assert (got["accounts"], got["orders"], got["touches"]) == (
        want["accounts"],
        want["orders"],
        want["touches"],
    )

    # The write-back renews its session the same way.
    writer = SalesforceWriter(logged_in(org, credentials(org)))
    org.expire_session()
    account = next(iter(org.objects["Account"]))
    touch = OutgoingTouch("rebuy-touch-77", account, datetime(2026, 6, 1, tzinfo=UTC), "call")
    assert writer.write_touch(touch, None).created


def test_a_session_token_without_credentials_still_reports_expiry(org: SalesforceDouble) -> None:
    settings = SalesforceSettings(
        instance_url=org.url,
        session_id=org.session_id,
        session=org.session(),
        retry=RetryPolicy(attempts=2, sleep=lambda s: None),
    )
    org.expire_session()
    with pytest.raises(SourceAuthError, match="refused the access token"):
        list(SalesforceSource(settings).pull("accounts"))


class _ToDouble(HTTPAdapter):
    """Sends what simple-salesforce addresses to the org's My Domain to the double."""

    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def send(self, request: requests.PreparedRequest, **kwargs):  # type: ignore[override]
        request.url = (request.url or "").replace(MY_DOMAIN, self.base)
        return super().send(request, **kwargs)


def test_oauth_client_credentials_give_a_session_and_a_wrong_secret_is_named(
    org: SalesforceDouble,
) -> None:
    session = org.session()
    session.mount(MY_DOMAIN, _ToDouble(org.url))
    app = SalesforceCredentials(
        client_id="3MVG9-rebuy", client_secret="s3cret", domain="acme.my", session=session
    )
    accounts = [r for b in SalesforceSource(logged_in(org, app)).pull("accounts") for r in b.rows]
    assert len(accounts) == 30 and org.count("POST", "/services/oauth2/token", 200) == 1

    wrong = SalesforceCredentials(
        client_id="3MVG9-rebuy", client_secret="nope", domain="acme.my", session=session
    )
    with pytest.raises(SourceAuthError) as refused:
        wrong.login()
    assert refused.value.message.startswith(
        "Salesforce refused the login of the connected app (invalid_client: invalid client "
        "credentials). Check the connected app's client id and secret"
    )
    with pytest.raises(Exception, match="My Domain"):
        SalesforceCredentials(client_id="a", client_secret="b", domain="login").login()


def test_a_refused_salesforce_login_does_not_stop_the_other_sources(
    db: Database,
    login_env: SalesforceDouble,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.doubles.hubspot_double import HubSpotDouble

    monkeypatch.setenv("SALESFORCE_PASSWORD", "not-the-password")
    with HubSpotDouble() as hubspot:
        hubspot.generate(companies=6, deals=10, activities=5, owners=2)
        monkeypatch.setenv("HUBSPOT_TOKEN", hubspot.token)
        monkeypatch.setenv("HUBSPOT_API_URL", hubspot.url)
        code, out, err = run(capsys, "sync")
    assert code == 1
    assert "salesforce: not synced" in out and "Salesforce refused the login of" in out
    assert "hubspot: " in out and "; ok" in out and "Traceback" not in out + err
    assert counts(db)["accounts"] == 6
