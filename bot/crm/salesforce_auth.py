"""Getting a Salesforce session: a username/password login or a connected app's client
credentials, both through simple-salesforce's `SalesforceLogin`.

- **Username, password and security token**: the SOAP partner API's `login`
  (`SALESFORCE_USERNAME`, `SALESFORCE_PASSWORD`, `SALESFORCE_SECURITY_TOKEN`,
  `SALESFORCE_DOMAIN=test` for a sandbox).
- **OAuth 2.0 client credentials**: a connected app with the client credentials flow on,
  run as its integration user (`SALESFORCE_CLIENT_ID`, `SALESFORCE_CLIENT_SECRET`, and
  `SALESFORCE_DOMAIN` = the org's My Domain, e.g. `acme.my`).

Sessions expire (two hours by default): a source built from credentials logs in again
when Salesforce answers 401 INVALID_SESSION_ID and carries on (bot/crm/salesforce).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import requests
from simple_salesforce import SalesforceLogin
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from bot.crm.base import SourceAuthError, SourceError


@dataclass(frozen=True)
class SalesforceCredentials:
    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    client_id: str | None = None  # a connected app's consumer key
    client_secret: str | None = None
    domain: str = "login"  # "test" (sandbox) or the My Domain ("acme.my")
    login_url: str | None = None  # a scratch org's (or a test double's) own login address
    version: str = "59.0"
    session: requests.Session | None = field(default=None, compare=False, repr=False)

    @property
    def client_credentials(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def who(self) -> str:
        return "the connected app" if self.client_credentials else (self.username or "?")

    def login(self) -> tuple[str, str]:
        """(session id, instance URL), or SourceAuthError saying what Salesforce refused."""
        try:
            if self.client_credentials:
                if self.domain in ("login", "test"):
                    raise SourceError(
                        "Salesforce client credentials need SALESFORCE_DOMAIN set to the org's "
                        "My Domain (e.g. acme.my), not “login” or “test”."
                    )
                session_id, host = SalesforceLogin(
                    consumer_key=self.client_id,
                    consumer_secret=self.client_secret,
                    domain=self.domain,
                    sf_version=self.version,
                    session=self.session,
                )
            else:
                session_id, host = SalesforceLogin(
                    username=self.username,
                    password=self.password,
                    security_token=self.security_token,
                    domain=self.domain,
                    sf_version=self.version,
                    scratch_url=self.login_url,
                    session=self.session,
                )
        except SalesforceAuthenticationFailed as error:
            raise SourceAuthError(
                f"Salesforce refused the login of {self.who()} "
                f"({error.code}: {error.auth_message.strip()}). Check the "
                + (
                    "connected app's client id and secret and that its client credentials "
                    "flow has a run-as user."
                    if self.client_credentials
                    else "username, password and security token (a password change issues "
                    "a new security token), and SALESFORCE_DOMAIN=test for a sandbox."
                )
            ) from None
        except requests.RequestException as error:
            raise SourceError(f"Salesforce's login could not be reached ({error}).") from None
        instance = host if host.startswith("http") else f"https://{host}"
        return session_id, instance
