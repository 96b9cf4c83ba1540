"""The column names of the standard CRM exports, so their files import as they are.

Each preset names, for each of Rebuy's fields, the headers the vendor writes: the
label a report or list-view export uses first, then the API name a data export
(Salesforce Data Loader, HubSpot's API-named exports) uses. Headers are matched
loosely (case, spaces, hyphens and dots do not matter).

Sources (the vendors' field references and export help pages): Salesforce's
Account, Contact, Opportunity, Order, Task and Event field labels; HubSpot's default
company, contact, deal, call, e-mail and meeting properties as its export writes
them; Pipedrive's "Object - Field" export headers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

VENDORS = ("salesforce", "hubspot", "pipedrive")

# Stages that mean "the customer bought": compared with case, spaces and punctuation
# removed, so "Closed Won", "closedwon" and "Closed - Won" all count.
WON_STAGES = frozenset({"closedwon", "won"})
# Activities that happened: Salesforce task Status, Pipedrive "Done".
DONE_VALUES = frozenset({"completed", "complete", "done", "yes", "true", "1", "held"})


@dataclass(frozen=True)
class Preset:
    """How one vendor export maps onto one import kind."""

    vendor: str
    name: str  # e.g. "Salesforce Opportunities"
    kind: str
    headers: dict[str, tuple[str, ...]]
    won: frozenset[str] = WON_STAGES
    defaults: dict[str, str] = field(default_factory=dict)  # e.g. the touch kind of a calls export


_SF_ACCOUNT = ("Account ID", "AccountId")
_HS_COMPANY = (
    "Associated Company IDs (Primary)",
    "Associated Company ID",
    "Associated Company IDs",
    "Company ID",
)
_PD_ORG = ("Organization - ID", "Deal - Organization ID", "Activity - Organization ID")

PRESETS: tuple[Preset, ...] = (
    # --- Salesforce -------------------------------------------------------------------------
    Preset(
        "salesforce",
        "Salesforce Accounts",
        "accounts",
        {
            "external_id": ("Account ID", "Id"),
            "name": ("Account Name", "Name"),
            "owner_email": ("Account Owner Email", "Owner Email", "Account Owner", "Owner Name"),
        },
    ),
    Preset(
        "salesforce",
        "Salesforce Contacts",
        "contacts",
        {
            "account_external_id": _SF_ACCOUNT,
            "name": ("Full Name", "Contact Name", "Name"),
            "first_name": ("First Name", "FirstName"),
            "last_name": ("Last Name", "LastName"),
            "email": ("Email",),
            "title": ("Title",),
        },
    ),
    Preset(
        "salesforce",
        "Salesforce Opportunities",
        "orders",
        {
            "account_external_id": _SF_ACCOUNT,
            "ordered_at": ("Close Date", "CloseDate"),
            "amount": ("Amount",),
            "order_id": ("Opportunity ID", "Id"),
            "stage": ("Stage", "StageName"),
        },
    ),
    Preset(
        "salesforce",
        "Salesforce Orders",
        "orders",
        {
            "account_external_id": _SF_ACCOUNT,
            "ordered_at": ("Order Start Date", "EffectiveDate"),
            "amount": ("Order Amount", "TotalAmount"),
            "order_id": ("Order Number", "OrderNumber"),
            "stage": ("Status",),
        },
        won=frozenset({"activated"}),
    ),
    Preset(
        "salesforce",
        "Salesforce Tasks and Events",
        "touches",
        {
            "account_external_id": _SF_ACCOUNT,
            "touched_at": ("Date", "Activity Date", "ActivityDate", "Start", "StartDateTime"),
            "kind": ("Task Subtype", "TaskSubtype", "Event Subtype", "EventSubtype", "Type"),
            "subject": ("Subject",),
            "note": ("Comments", "Full Comments", "Description"),
            "rep_email": ("Assigned Email", "Assigned", "Assigned To", "Owner Email"),
            "touch_id": ("Activity ID", "Id"),
            "done": ("Status",),
        },
    ),
    # --- HubSpot ----------------------------------------------------------------------------
    Preset(
        "hubspot",
        "HubSpot Companies",
        "accounts",
        {
            "external_id": ("Record ID", "Company ID", "hs_object_id"),
            "name": ("Company name", "Name"),
            "owner_email": ("Company owner", "HubSpot Owner", "hubspot_owner_id"),
        },
    ),
    Preset(
        "hubspot",
        "HubSpot Contacts",
        "contacts",
        {
            "account_external_id": _HS_COMPANY,
            "first_name": ("First Name", "firstname"),
            "last_name": ("Last Name", "lastname"),
            "email": ("Email",),
            "title": ("Job Title", "jobtitle"),
        },
    ),
    Preset(
        "hubspot",
        "HubSpot Deals",
        "orders",
        {
            "account_external_id": _HS_COMPANY,
            "ordered_at": ("Close Date", "closedate"),
            "amount": ("Amount",),
            "order_id": ("Record ID", "Deal ID", "hs_object_id"),
            "stage": ("Deal Stage", "dealstage"),
        },
    ),
    *(
        Preset(
            "hubspot",
            f"HubSpot {label}",
            "touches",
            {
                "account_external_id": _HS_COMPANY,
                "touched_at": ("Activity date", "Activity Date", "hs_timestamp", "Create Date"),
                "kind": ("Activity type", "Engagement type"),
                "subject": subject,
                "note": note,
                "rep_email": ("Activity assigned to", "Assigned to", "Activity owner"),
                "touch_id": ("Record ID", "Activity ID", "hs_object_id"),
            },
            defaults={"kind": kind},
        )
        for label, kind, subject, note in (
            ("Calls", "call", ("Call title",), ("Call notes",)),
            ("Emails", "email", ("Email subject",), ("Email body", "Email text")),
            ("Meetings", "meeting", ("Meeting name",), ("Meeting description", "Internal notes")),
            ("Activities", "note", ("Subject", "Title"), ("Notes", "Body preview", "Body")),
        )
    ),
    # --- Pipedrive --------------------------------------------------------------------------
    Preset(
        "pipedrive",
        "Pipedrive Organizations",
        "accounts",
        {
            "external_id": ("Organization - ID",),
            "name": ("Organization - Name",),
            "owner_email": ("Organization - Owner",),
        },
    ),
    Preset(
        "pipedrive",
        "Pipedrive Persons",
        "contacts",
        {
            "account_external_id": ("Organization - ID", "Person - Organization ID"),
            "name": ("Person - Name",),
            "email": ("Person - Email - Work", "Person - Email"),
            "title": ("Person - Job title", "Person - Title"),
        },
    ),
    Preset(
        "pipedrive",
        "Pipedrive Deals",
        "orders",
        {
            "account_external_id": _PD_ORG,
            "ordered_at": ("Deal - Won time", "Deal - Close date", "Deal - Closed on"),
            "amount": ("Deal - Value",),
            "order_id": ("Deal - ID",),
            "stage": ("Deal - Status",),
        },
    ),
    Preset(
        "pipedrive",
        "Pipedrive Activities",
        "touches",
        {
            "account_external_id": _PD_ORG,
            "touched_at": ("Activity - Marked as done time", "Activity - Due date"),
            "kind": ("Activity - Type",),
            "subject": ("Activity - Subject",),
            "note": ("Activity - Note",),
            "rep_email": ("Activity - Assigned to user", "Activity - User"),
            "touch_id": ("Activity - ID",),
            "done": ("Activity - Done",),
        },
    ),
)


def presets_for(kind: str, vendor: str | None) -> list[Preset]:
    return [p for p in PRESETS if p.kind == kind and (vendor is None or p.vendor == vendor)]
