"""Reps and their away periods, the accounts they own, their contacts, account plans."""

# No `from __future__ import annotations` here: SQLModel reads the Relationship's
# annotation as a real type.
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, Relationship, SQLModel

from models.types import UTCDateTime


class Rep(SQLModel, table=True):
    """A sales rep: known by e-mail from the CRM, mapped to a Slack user by `rebuy reps sync`."""

    __tablename__ = "rep"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    name: str | None = Field(default=None, max_length=200)
    slack_user_id: str | None = Field(default=None, max_length=32, unique=True, index=True)
    # IANA zone from Slack's users.list/users.info; reminders go out at the rep's morning.
    tz: str = Field(default="UTC", max_length=64)
    tz_synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Cached DM channel so reminders never call conversations.open per message.
    dm_channel_id: str | None = Field(default=None, max_length=32)
    active: bool = Field(default=True)
    # Public holidays: ISO 3166 country (e.g. "DE") and optional subdivision ("BY");
    # None means the workspace default (HOLIDAY_COUNTRY).
    country: str | None = Field(default=None, max_length=2)
    subdivision: str | None = Field(default=None, max_length=10)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # The Slack status as last read (users.list): "🌴 Vacationing until Friday" suggests
    # pausing reminders. `status_expires_at` is None when the status does not expire.
    status_emoji: str | None = Field(default=None, max_length=100)
    status_text: str | None = Field(default=None, max_length=150)
    status_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status_checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The last away day a "pause reminders until …?" offer was made for (offered once).
    away_offered_until: date | None = None


class AwayPeriod(SQLModel, table=True):
    """A rep away (leave, travel) from `starts_on` to `ends_on`, both inclusive, in the
    rep's local dates; an optional cover rep gets their due accounts meanwhile."""

    __tablename__ = "away_period"
    __table_args__ = (Index("ix_away_period_rep_id", "rep_id", "starts_on"),)

    id: int | None = Field(default=None, primary_key=True)
    rep_id: int = Field(foreign_key="rep.id", ondelete="CASCADE")
    starts_on: date
    ends_on: date
    cover_rep_id: int | None = Field(default=None, foreign_key="rep.id", ondelete="SET NULL")
    created_at: datetime = Field(sa_type=UTCDateTime)


class Account(SQLModel, table=True):
    """A customer company, keyed by its CRM id."""

    __tablename__ = "account"
    __table_args__ = (Index("ix_account_owner_id", "owner_id"),)

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(max_length=128, unique=True, index=True)
    name: str = Field(max_length=300)
    # Lower-cased, accent- and punctuation-free name for forgiving look-ups.
    name_key: str = Field(max_length=300, index=True)
    owner_id: int | None = Field(default=None, foreign_key="rep.id", ondelete="SET NULL")
    tier: str = Field(default="mid", max_length=32)
    annual_value: Decimal | None = Field(default=None, max_digits=16, decimal_places=2)
    cadence_days: int | None = Field(default=None)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    # The live source the account is synced from ("hubspot", "salesforce"); touches
    # logged in Slack are written back there. None: loaded from files only.
    crm_source: str | None = Field(default=None, max_length=32)
    # Deleted or merged away in the CRM: left out of reminders, lists and look-ups,
    # still reachable by id, its history kept. `merged_into` is the survivor's CRM id.
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    merged_into: str | None = Field(default=None, max_length=128)


class Contact(SQLModel, table=True):
    """A person at a customer. Fewer than two makes the account single-threaded."""

    __tablename__ = "contact"
    __table_args__ = (UniqueConstraint("account_id", "contact_key", name="uq_contact_account_key"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", ondelete="CASCADE")
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    title: str | None = Field(default=None, max_length=200)
    # The e-mail when known, otherwise the normalised name: what a re-import matches on.
    contact_key: str = Field(max_length=320)
    created_at: datetime = Field(sa_type=UTCDateTime)
    # The CRM's id for the person (live sync), and when the CRM deleted the contact or
    # took it off this company: archived contacts are kept but no longer counted or shown.
    external_id: str | None = Field(default=None, max_length=128, index=True)
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class AccountPlan(SQLModel, table=True):
    """Where the account is, where we want it in 3-5 months, and how we get there."""

    __tablename__ = "account_plan"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", ondelete="CASCADE", unique=True)
    current_state: str = Field(sa_column=Column(Text, nullable=False))
    target_state: str = Field(sa_column=Column(Text, nullable=False))
    horizon: date
    updated_by: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    # The tactics the plan uses, in the order the rep chose them.
    tactics: list["AccountPlanTactic"] = Relationship(
        sa_relationship_kwargs={
            "order_by": "AccountPlanTactic.position",
            "cascade": "all, delete-orphan",
            "passive_deletes": True,
            "lazy": "selectin",
        }
    )


class AccountPlanTactic(SQLModel, table=True):
    """One tactic of an account plan (from the tactic bank), at its place in the plan."""

    __tablename__ = "account_plan_tactic"

    account_plan_id: int | None = Field(
        default=None, foreign_key="account_plan.id", ondelete="CASCADE", primary_key=True
    )
    position: int = Field(primary_key=True)
    tactic_id: str = Field(max_length=64)
