"""Writing a touch logged in Rebuy to the CRM as the matching activity, exactly once.

Every write carries the touch's idempotency key in a field of the CRM record
(HubSpot: the unique-value property `rebuy_touch_id`; Salesforce: the external
id field `Rebuy_Touch_Id__c`) and is an upsert on that key, so a retried write
(after a timeout, a 5xx or a crash between the CRM's answer and our outbox
update) finds the activity it already made instead of creating a second one.
The sync reads the key back (`TouchRow.rebuy_key`) and links the activity to
the touch it came from instead of importing it again.

Set-up in the CRM (README "Connect your CRM"): HubSpot needs the custom
property `rebuy_touch_id` (single-line text, "unique values") on calls, emails,
meetings and notes; Salesforce needs a text field `Rebuy_Touch_Id__c` marked
External ID and Unique on Task.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from hubspot.crm.associations.v4 import (
    BatchInputPublicDefaultAssociationMultiPost,
    PublicDefaultAssociationMultiPost,
    PublicObjectId,
)
from hubspot.crm.objects import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    SimplePublicObjectBatchInputUpsert,
)

from bot.clock import as_utc
from bot.crm import hubspot as hs
from bot.crm import salesforce as sf
from bot.crm.base import SourceError, with_retries
from models import TOUCH_KINDS


@dataclass(frozen=True)
class OutgoingTouch:
    """A touch to write: `key` is stable for the touch (e.g. "rebuy-touch-1234")."""

    key: str
    account_external_id: str  # the CRM's account/company id
    touched_at: datetime
    kind: str  # one of TOUCH_KINDS
    note: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in TOUCH_KINDS:
            raise SourceError(f"A touch of kind “{self.kind}” cannot be written to a CRM.")
        object.__setattr__(self, "touched_at", as_utc(self.touched_at))


@dataclass(frozen=True)
class WrittenTouch:
    crm_id: str  # the activity's id in the CRM
    created: bool  # False: the activity already existed (a retried write)


class TouchWriter(Protocol):
    def write_touch(self, touch: OutgoingTouch, rep_crm_user: str | None) -> WrittenTouch:
        """Create (or find) the CRM activity for `touch`, owned by the rep's CRM user id
        (None: the CRM's default owner, the integration user)."""
        ...

    def owner_for(self, email: str) -> str | None:
        """The CRM user id of the rep with this e-mail (None when the CRM has none)."""
        ...

    def delete_touch(self, crm_id: str, kind: str) -> None:
        """Delete the activity Rebuy wrote (a touch taken back); gone already is fine."""
        ...


_HUBSPOT_OBJECTS = {
    "call": "calls",
    "email": "emails",
    "meeting": "meetings",
    "visit": "meetings",  # HubSpot has no visit; an in-person meeting is the closest
    "note": "notes",
}
_LABELS = {"call": "Call", "email": "E-mail", "meeting": "Meeting", "visit": "Visit"}


def _hubspot_properties(touch: OutgoingTouch) -> dict[str, str]:
    when = touch.touched_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    title = f"{_LABELS.get(touch.kind, 'Note')} (logged in Rebuy)"
    body = touch.note or ""
    if touch.kind == "call":
        return {"hs_call_title": title, "hs_call_body": body, "hs_call_status": "COMPLETED"}
    if touch.kind == "email":
        return {
            "hs_email_subject": title,
            "hs_email_text": body,
            "hs_email_direction": "EMAIL",
            "hs_email_status": "SENT",
        }
    if touch.kind in ("meeting", "visit"):
        end = (touch.touched_at + timedelta(minutes=30)).isoformat(timespec="milliseconds")
        return {
            "hs_meeting_title": title,
            "hs_meeting_body": body,
            "hs_meeting_start_time": when,
            "hs_meeting_end_time": end.replace("+00:00", "Z"),
            "hs_meeting_outcome": "COMPLETED",
        }
    return {"hs_note_body": body or title}


class HubSpotWriter:
    """Touches as HubSpot engagements: an upsert on `rebuy_touch_id`, then the company link."""

    def __init__(self, settings: hs.HubSpotSettings, *, client: Any = None) -> None:
        self.settings = settings
        self.client = client or settings.client()
        self._owner_ids: dict[str, str] | None = None

    def _call(self, what: str, call: Any) -> Any:
        return with_retries(
            call, policy=self.settings.retry, classify=hs.classify, source=hs.SOURCE, what=what
        )

    def owner_for(self, email: str) -> str | None:
        """Owner id by e-mail from the owners API (read once per writer)."""
        if self._owner_ids is None:
            source = hs.HubSpotSource(self.settings, client=self.client)
            self._owner_ids = {mail: owner for owner, mail in source.owner_emails().items()}
        return self._owner_ids.get(email.strip().lower())

    def delete_touch(self, crm_id: str, kind: str) -> None:
        object_type = _HUBSPOT_OBJECTS[kind]
        self._call(
            f"deleting {object_type} {crm_id}",
            lambda: self.client.crm.objects.basic_api.archive(
                object_type=object_type, object_id=crm_id
            ),
        )

    def write_touch(self, touch: OutgoingTouch, rep_crm_user: str | None) -> WrittenTouch:
        object_type = _HUBSPOT_OBJECTS[touch.kind]
        key_property = self.settings.touch_key_property
        properties = {
            **_hubspot_properties(touch),
            "hs_timestamp": touch.touched_at.isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"
            ),
            key_property: touch.key,
        }
        if rep_crm_user:
            properties["hubspot_owner_id"] = rep_crm_user
        body = BatchInputSimplePublicObjectBatchInputUpsert(
            inputs=[
                SimplePublicObjectBatchInputUpsert(
                    id_property=key_property, id=touch.key, properties=properties
                )
            ]
        )
        answer = self._call(
            f"writing touch {touch.key}",
            lambda: self.client.crm.objects.batch_api.upsert(
                object_type=object_type, batch_input_simple_public_object_batch_input_upsert=body
            ),
        )
        result = answer.results[0]
        link = BatchInputPublicDefaultAssociationMultiPost(
            inputs=[
                PublicDefaultAssociationMultiPost(
                    _from=PublicObjectId(id=str(result.id)),
                    to=PublicObjectId(id=touch.account_external_id),
                )
            ]
        )
        # Associating is idempotent too: a retry links the same pair once.
        self._call(
            f"linking touch {touch.key} to company {touch.account_external_id}",
            lambda: self.client.crm.associations.v4.batch_api.create_default(
                from_object_type=object_type,
                to_object_type="companies",
                batch_input_public_default_association_multi_post=link,
            ),
        )
        return WrittenTouch(str(result.id), bool(result.new))


_SALESFORCE_TYPES = {
    "call": "Call",
    "email": "Email",
    "meeting": "Meeting",
    "visit": "Visit",
    "note": "Other",
}


class SalesforceWriter(sf.SalesforceSession):
    """Touches as completed Salesforce Tasks, upserted on the external id `Rebuy_Touch_Id__c`."""

    def __init__(self, settings: sf.SalesforceSettings, *, client: Any = None) -> None:
        super().__init__(settings, client=client)
        self._owner_ids: dict[str, str | None] = {}

    def owner_for(self, email: str) -> str | None:
        """The active User with this e-mail (cached per writer)."""
        email = email.strip().lower()
        if email not in self._owner_ids:
            soql = (
                "SELECT Id FROM User WHERE Email = "
                f"'{sf.soql_text(email)}' AND IsActive = true LIMIT 1"
            )
            answer = self._call(f"the user {email}", lambda: self.client.query(soql))
            records = answer.get("records") or []
            self._owner_ids[email] = records[0]["Id"] if records else None
        return self._owner_ids[email]

    def delete_touch(self, crm_id: str, kind: str) -> None:
        try:
            self._call(f"deleting Task {crm_id}", lambda: self.client.Task.delete(crm_id))
        except SourceError as error:
            if "HTTP 404" not in error.message:
                raise

    def write_touch(self, touch: OutgoingTouch, rep_crm_user: str | None) -> WrittenTouch:
        label = _SALESFORCE_TYPES[touch.kind]
        data = {
            "WhatId": touch.account_external_id,
            "Subject": f"{label} (logged in Rebuy)",
            "Description": touch.note or "",
            "Status": "Completed",
            "Type": label,
            "ActivityDate": touch.touched_at.date().isoformat(),
        }
        if rep_crm_user:
            data["OwnerId"] = rep_crm_user
        response = self._call(
            f"writing touch {touch.key}",
            lambda: self.client.Task.upsert(
                f"{sf.TOUCH_KEY_FIELD}/{touch.key}", data, raw_response=True
            ),
        )
        answer = response.json() if response.content else {}
        return WrittenTouch(str(answer.get("id", "")), response.status_code == 201)
