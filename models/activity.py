"""What happens on an account: orders, touches, snoozes, tactics shown."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

# The one list of touch kinds lives with its words; re-exported for the models package.
from bot.retention.touch_kinds import TOUCH_KINDS as TOUCH_KINDS
from models.types import UTCDateTime

TOUCH_SOURCES = ("reaction", "button", "command", "import", "demo")


class Order(SQLModel, table=True):
    """A purchase. `order_key` is the CRM order id, or a content hash when there is none."""

    __tablename__ = "order"
    __table_args__ = (
        UniqueConstraint("account_id", "order_key", name="uq_order_account_key"),
        Index("ix_order_account_ordered_at", "account_id", "ordered_at"),
        # The orders of a few days (a window's edges: bot/retention/summary_read.py).
        Index("ix_order_ordered_at", "ordered_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", ondelete="CASCADE")
    ordered_at: datetime = Field(sa_type=UTCDateTime)
    amount: Decimal = Field(max_digits=16, decimal_places=2)
    order_id: str | None = Field(default=None, max_length=128)
    order_key: str = Field(max_length=160)
    product: str | None = Field(default=None, max_length=200)


class Touch(SQLModel, table=True):
    """A logged interaction with the customer."""

    __tablename__ = "touch"
    __table_args__ = (Index("ix_touch_account_touched_at", "account_id", "touched_at"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", ondelete="CASCADE")
    kind: str = Field(max_length=16)
    touched_at: datetime = Field(sa_type=UTCDateTime)
    rep_id: int | None = Field(default=None, foreign_key="rep.id", ondelete="SET NULL")
    # Who did it, as Slack knows them (may be set when no Rep row exists).
    slack_user_id: str | None = Field(default=None, max_length=32)
    note: str | None = Field(default=None, sa_column=Column(Text))
    source: str = Field(max_length=16)
    # The tactic the rep was shown when the touch was logged from a reminder.
    tactic_id: str | None = Field(default=None, max_length=64)
    # Makes reaction touches exactly-once: one per message, user and touch kind.
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


class Snooze(SQLModel, table=True):
    """The next touch waits until `until` (a later date than the cadence gives)."""

    __tablename__ = "snooze"
    __table_args__ = (Index("ix_snooze_account_until", "account_id", "until"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", ondelete="CASCADE")
    until: date
    reason: str | None = Field(default=None, max_length=500)
    slack_user_id: str | None = Field(default=None, max_length=32)
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


class TacticExposure(SQLModel, table=True):
    """A tactic was shown to a rep for an account; the recommender rotates away from it."""

    __tablename__ = "tactic_exposure"
    __table_args__ = (Index("ix_tactic_exposure_account_shown", "account_id", "shown_at"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", ondelete="CASCADE")
    tactic_id: str = Field(max_length=64)
    shown_at: datetime = Field(sa_type=UTCDateTime)
    surface: str = Field(default="card", max_length=16)
