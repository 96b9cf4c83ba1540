"""Which live sources are configured, built from the settings (secrets from the environment).

A source is on when its secrets are set: HUBSPOT_TOKEN; SALESFORCE_INSTANCE_URL with
SALESFORCE_TOKEN (or SALESFORCE_USERNAME, SALESFORCE_PASSWORD and
SALESFORCE_SECURITY_TOKEN); SYNC_SQL_URL with SYNC_SQL_QUERIES, a YAML file:

    orders:
      sql: SELECT customer_no, order_no, placed_at, total, changed_at FROM shop_orders
      columns: {account_external_id: customer_no, order_id: order_no,
                ordered_at: placed_at, amount: total}
      modified: changed_at   # optional: incremental by this column
      id: order_no           # optional: the record id that breaks ties
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.crm.base import KINDS, Source
from bot.crm.writeback import HubSpotWriter, SalesforceWriter, TouchWriter
from bot.retention.errors import InvalidInput
from bot.settings import Settings

SOURCE_NAMES = ("hubspot", "salesforce", "sql")


def configured_sources(settings: Settings) -> list[str]:
    names = []
    if settings.hubspot_token:
        names.append("hubspot")
    if _salesforce_configured(settings):
        names.append("salesforce")
    if settings.sync_sql_url:
        names.append("sql")
    return names


def _salesforce_configured(settings: Settings) -> bool:
    return bool(
        settings.salesforce_instance_url
        or settings.salesforce_username
        or settings.salesforce_client_id
    )


def build_source(settings: Settings, name: str) -> Source:
    """The named source, or InvalidInput saying which setting is missing."""
    name = name.strip().lower()
    if name not in SOURCE_NAMES:
        raise InvalidInput(f"“{name}” is not a sync source; use one of {', '.join(SOURCE_NAMES)}.")
    if name == "hubspot":
        from bot.crm.hubspot import HubSpotSource

        return HubSpotSource(_hubspot(settings))
    if name == "salesforce":
        from bot.crm.salesforce import SalesforceSource

        return SalesforceSource(_salesforce(settings))
    from bot.crm.sql import SqlSource

    if not settings.sync_sql_url:
        raise InvalidInput("The SQL source needs SYNC_SQL_URL (any SQLAlchemy database URL).")
    if not settings.sync_sql_queries:
        raise InvalidInput(
            "The SQL source needs SYNC_SQL_QUERIES: a YAML file, one query per kind."
        )
    return SqlSource(settings.sync_sql_url, read_queries(Path(settings.sync_sql_queries)))


def build_writer(settings: Settings, name: str) -> TouchWriter | None:
    """The write-back for a CRM source (None for the SQL source: it is read-only)."""
    if name == "hubspot" and settings.hubspot_token:
        return HubSpotWriter(_hubspot(settings))
    if name == "salesforce" and _salesforce_configured(settings):
        return SalesforceWriter(_salesforce(settings))
    return None


def _hubspot(settings: Settings) -> Any:
    from bot.crm.hubspot import HubSpotSettings

    if not settings.hubspot_token:
        raise InvalidInput("HubSpot needs HUBSPOT_TOKEN (a private app's access token).")
    return HubSpotSettings(access_token=settings.hubspot_token, host=settings.hubspot_api_url)


def _salesforce(settings: Settings) -> Any:
    """A session id as given, else a login with the username or the connected app."""
    from bot.crm.salesforce import SalesforceSettings
    from bot.crm.salesforce_auth import SalesforceCredentials

    token, instance = settings.salesforce_token, settings.salesforce_instance_url
    if token:
        if not instance:
            raise InvalidInput("SALESFORCE_TOKEN needs SALESFORCE_INSTANCE_URL (the org's URL).")
        return SalesforceSettings(instance_url=instance, session_id=token)
    if settings.salesforce_client_id or settings.salesforce_client_secret:
        if not (settings.salesforce_client_id and settings.salesforce_client_secret):
            raise InvalidInput(
                "Salesforce client credentials need both SALESFORCE_CLIENT_ID and "
                "SALESFORCE_CLIENT_SECRET (and SALESFORCE_DOMAIN, the org's My Domain)."
            )
        credentials = SalesforceCredentials(
            client_id=settings.salesforce_client_id,
            client_secret=settings.salesforce_client_secret,
            domain=settings.salesforce_domain,
        )
    elif settings.salesforce_username:
        if not (settings.salesforce_password and settings.salesforce_security_token):
            raise InvalidInput(
                "Salesforce login needs SALESFORCE_USERNAME, SALESFORCE_PASSWORD and "
                "SALESFORCE_SECURITY_TOKEN (or set SALESFORCE_TOKEN instead)."
            )
        credentials = SalesforceCredentials(
            username=settings.salesforce_username,
            password=settings.salesforce_password,
            security_token=settings.salesforce_security_token,
            domain=settings.salesforce_domain,
            login_url=settings.salesforce_login_url,
        )
    else:
        raise InvalidInput(
            "Salesforce needs SALESFORCE_INSTANCE_URL and SALESFORCE_TOKEN, or SALESFORCE_"
            "USERNAME, SALESFORCE_PASSWORD and SALESFORCE_SECURITY_TOKEN, or SALESFORCE_"
            "CLIENT_ID and SALESFORCE_CLIENT_SECRET."
        )
    return SalesforceSettings.logged_in(credentials)


def read_queries(path: Path) -> dict[str, Any]:
    """SYNC_SQL_QUERIES: kind -> SqlQuery, with clear messages naming the file and kind."""
    from bot.crm.sql import SqlQuery

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(f"SYNC_SQL_QUERIES: {path}: no such file.") from None
    except yaml.YAMLError as error:
        raise InvalidInput(f"SYNC_SQL_QUERIES: {path} is not valid YAML ({error}).") from None
    if not isinstance(data, dict) or not data:
        raise InvalidInput(
            f"SYNC_SQL_QUERIES: {path} must map kinds ({', '.join(KINDS)}) to queries."
        )
    queries = {}
    for kind, spec in data.items():
        if kind not in KINDS:
            raise InvalidInput(
                f"SYNC_SQL_QUERIES: {path}: “{kind}” is not one of {', '.join(KINDS)}."
            )
        if not isinstance(spec, dict) or not isinstance(spec.get("sql"), str):
            raise InvalidInput(f"SYNC_SQL_QUERIES: {path}: {kind} needs a `sql:` query.")
        columns = spec.get("columns") or {}
        if not isinstance(columns, dict):
            raise InvalidInput(f"SYNC_SQL_QUERIES: {path}: {kind}: `columns` maps field: column.")
        queries[kind] = SqlQuery(
            sql=spec["sql"],
            columns={str(k): str(v) for k, v in columns.items()},
            modified_column=spec.get("modified"),
            id_column=spec.get("id"),
        )
    return queries
