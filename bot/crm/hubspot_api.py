"""HubSpot's answers: the search filter after a cursor, and how an exception from
`hubspot-api-client` is classified (rate limit, server error, a missing scope). Its
values (times, amounts, text) are read by `bot.crm.values`."""

from __future__ import annotations

import json
from typing import Any

import urllib3
from hubspot.crm.associations.v4 import ApiException as AssociationsApiException
from hubspot.crm.objects import ApiException as ObjectsApiException
from hubspot.crm.objects import Filter, FilterGroup
from hubspot.crm.owners import ApiException as OwnersApiException

from bot.crm.base import Cursor, Failure

_API_ERRORS = (ObjectsApiException, AssociationsApiException, OwnersApiException)


def modified_property(object_type: str) -> str:
    """Contacts keep their last-modified time in `lastmodifieddate`, other objects in
    `hs_lastmodifieddate`."""
    return "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"


def classify(error: Exception) -> Failure | None:
    """An exception from the HubSpot client, as a status and the wait HubSpot asked for."""
    if isinstance(error, _API_ERRORS):
        if error.status == 403:
            return Failure(403, explanation=_refusal(error.body))
        headers = error.headers or {}
        hint = None
        if headers.get("Retry-After"):
            try:
                hint = float(headers["Retry-After"])
            except ValueError:
                hint = None
        elif headers.get("X-HubSpot-RateLimit-Interval-Milliseconds"):
            # The ten-second window: waiting one whole interval always clears it.
            hint = int(headers["X-HubSpot-RateLimit-Interval-Milliseconds"]) / 1000
        return Failure(error.status, hint)
    if isinstance(error, urllib3.exceptions.HTTPError):
        return Failure(None)
    return None


def _refusal(body: Any) -> str | None:
    """HubSpot's 403 MISSING_SCOPES answer, as what to add to the private app."""
    try:
        data = json.loads(body) if isinstance(body, str | bytes) else None
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("category") != "MISSING_SCOPES":
        return None
    scopes: list[str] = []
    for item in data.get("errors") or []:
        context = item.get("context") if isinstance(item, dict) else None
        for name in ("requiredGranularScopes", "requiredScopes"):
            for scope in (context or {}).get(name) or []:
                if isinstance(scope, str) and scope not in scopes:
                    scopes.append(scope)
    which = " or ".join(scopes) if scopes else "a scope this call needs"
    return (
        f"the access token lacks the scope {which}. In HubSpot, add it to the private app "
        "(Settings → Integrations → Private Apps → your app → Scopes), then run the sync "
        "again; the README (“Connect your CRM”) lists every scope Rebuy needs."
    )


def after_cursor(modified: str, cursor: Cursor | None) -> list[FilterGroup] | None:
    """(modified > t) OR (modified == t AND id > cursor id): exactly what follows the cursor."""
    if cursor is None:
        return None
    stamp = str(round(cursor.modified_at.timestamp() * 1000))
    return [
        FilterGroup(filters=[Filter(property_name=modified, operator="GT", value=stamp)]),
        FilterGroup(
            filters=[
                Filter(property_name=modified, operator="EQ", value=stamp),
                Filter(property_name="hs_object_id", operator="GT", value=cursor.record_id),
            ]
        ),
    ]
