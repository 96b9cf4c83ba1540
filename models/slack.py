"""State the Slack side keeps so that sends and events happen exactly once."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.statuses import DigestStatus, ReminderStatus, status_type
from models.types import UTCDateTime


class ReminderRun(SQLModel, table=True):
    """One rep's reminder for one local day. The unique pair is the exactly-once claim."""

    __tablename__ = "reminder_run"
    __table_args__ = (UniqueConstraint("rep_id", "local_date", name="uq_reminder_run_rep_day"),)

    id: int | None = Field(default=None, primary_key=True)
    rep_id: int = Field(foreign_key="rep.id", ondelete="CASCADE")
    local_date: date
    status: ReminderStatus = Field(
        default=ReminderStatus.CLAIMED, sa_type=status_type(ReminderStatus)
    )
    attempts: int = Field(default=1)
    claimed_by: str | None = Field(default=None, max_length=100)
    lease_until: datetime = Field(sa_type=UTCDateTime)
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReminderMessage(SQLModel, table=True):
    """A posted reminder message: the header (no account) or one due account."""

    __tablename__ = "reminder_message"
    __table_args__ = (
        UniqueConstraint("run_id", "position", name="uq_reminder_message_run_position"),
        Index("ix_reminder_message_channel_ts", "channel", "ts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="reminder_run.id", ondelete="CASCADE")
    position: int
    account_id: int | None = Field(default=None, foreign_key="account.id", ondelete="CASCADE")
    tactic_id: str | None = Field(default=None, max_length=64)
    channel: str | None = Field(default=None, max_length=32)
    ts: str | None = Field(default=None, max_length=32)
    text: str = Field(sa_column=Column(Text, nullable=False))
    blocks_json: str = Field(sa_column=Column(Text, nullable=False))
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SlackEvent(SQLModel, table=True):
    """An Events API delivery we have handled; a retry with the same id is dropped."""

    __tablename__ = "slack_event"

    event_id: str = Field(primary_key=True, max_length=64)
    event_type: str = Field(max_length=64)
    received_at: datetime = Field(sa_type=UTCDateTime)


class SlackRequest(SQLModel, table=True):
    """A slash command or interaction we have acted on, keyed by its trigger_id (or a
    hash of its body). A replayed request finds its key taken and is ignored."""

    __tablename__ = "slack_request"

    request_key: str = Field(primary_key=True, max_length=128)
    kind: str = Field(max_length=32)
    received_at: datetime = Field(sa_type=UTCDateTime)


class ReactionState(SQLModel, table=True):
    """The newest reaction event applied per (message, user, reaction): Slack does not
    promise order, so an older event (or a retry of one) never overrides a newer one.
    `present` False is the tombstone a removal leaves."""

    __tablename__ = "reaction_state"
    __table_args__ = (
        UniqueConstraint("channel", "ts", "slack_user_id", "reaction", name="uq_reaction_state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=32)
    ts: str = Field(max_length=32)
    slack_user_id: str = Field(max_length=32)
    reaction: str = Field(max_length=100)
    # The event's event_ts in microseconds since the epoch.
    event_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    present: bool
    updated_at: datetime = Field(sa_type=UTCDateTime)


class DigestRun(SQLModel, table=True):
    """The weekly manager digest, claimed once per ISO week."""

    __tablename__ = "digest_run"

    id: int | None = Field(default=None, primary_key=True)
    week_start: date = Field(unique=True)
    status: DigestStatus = Field(default=DigestStatus.CLAIMED, sa_type=status_type(DigestStatus))
    channel: str | None = Field(default=None, max_length=64)
    ts: str | None = Field(default=None, max_length=32)
    lease_until: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class RfmCutoffs(SQLModel, table=True):
    """Workspace quintile cut points for one as-of day, so a card needs no full scan."""

    __tablename__ = "rfm_cutoffs"

    as_of: date = Field(primary_key=True)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    computed_at: datetime = Field(sa_type=UTCDateTime)
