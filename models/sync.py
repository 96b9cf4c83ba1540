"""Live CRM sync: where each stream stopped, what each run did, and touches to write back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.statuses import OutboxStatus, SyncStatus, status_type
from models.types import UTCDateTime


class SyncCursor(SQLModel, table=True):
    """The resume point of one (source, stream); moved in the transaction that wrote the data."""

    __tablename__ = "sync_cursor"
    __table_args__ = (UniqueConstraint("source", "stream", name="uq_sync_cursor_source_stream"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    stream: str = Field(max_length=64)
    cursor: str = Field(max_length=300)  # Cursor.to_text(): "time|record id"
    updated_at: datetime = Field(sa_type=UTCDateTime)


class SyncRun(SQLModel, table=True):
    """One `rebuy sync` of one source: counts move with each stored batch."""

    __tablename__ = "sync_run"
    __table_args__ = (Index("ix_sync_run_source_started", "source", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    streams: str = Field(default="", max_length=300)  # the streams pulled, comma-separated
    full: bool = Field(default=False)
    status: SyncStatus = Field(default=SyncStatus.RUNNING, sa_type=status_type(SyncStatus))
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    duration_s: float | None = Field(default=None)
    # Cursors per stream as JSON ({"orders": "time|id", ...}) when the run started / ended.
    cursor_before: str | None = Field(default=None, sa_column=Column(Text))
    cursor_after: str | None = Field(default=None, sa_column=Column(Text))
    records: int = Field(default=0)  # records read from the source
    created: int = Field(default=0)
    updated: int = Field(default=0)
    unchanged: int = Field(default=0)
    archived: int = Field(default=0)  # accounts archived (deleted or merged in the CRM)
    removed: int = Field(default=0)  # orders, touches, contacts removed in the CRM
    linked: int = Field(default=0)  # activities Rebuy wrote itself, recognised, not imported
    skipped: int = Field(default=0)  # records that cannot be rows, and rows that are bad
    # Activities dated after the run (a meeting booked for next week): held in
    # sync_planned, they become touches once their time has come.
    planned: int = Field(default=0)
    errors: str | None = Field(default=None, sa_column=Column(Text))  # one problem per line
    # Everything in the source up to this time is in Rebuy (set when the run finishes
    # well): the orders' data cut-off for the re-buy model.
    through: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SyncLease(SQLModel, table=True):
    """Who is syncing a source right now: one row per source, taken by one run at a time.

    `expires_at` is pushed on with every stored chunk; a holder killed with kill -9 stops
    renewing, and its lease is taken over once it has expired (at once when the holder
    was a process on this host that no longer exists).
    """

    __tablename__ = "sync_lease"

    source: str = Field(primary_key=True, max_length=32)
    holder: str = Field(max_length=200)  # e.g. "`rebuy sync` (pid 4242 on web-1)"
    host: str = Field(max_length=100)
    pid: int
    run_id: int | None = Field(default=None)
    started_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class SyncPlanned(SQLModel, table=True):
    """An activity the CRM dates in the future (a meeting booked for next week).

    It is not a touch yet: it is held here and imported by the first sync after its
    time, whether or not the CRM changes it again (the cursor has moved past it). A
    newer version from the CRM replaces it; a deleted or cancelled one is dropped.
    """

    __tablename__ = "sync_planned"
    __table_args__ = (UniqueConstraint("source", "touch_key", name="uq_sync_planned_source_key"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    touch_key: str = Field(max_length=160)  # the CRM's activity id, e.g. "meetings:1234"
    due_at: datetime = Field(sa_type=UTCDateTime, index=True)
    row_json: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CrmOutbox(SQLModel, table=True):
    """A touch logged in Rebuy, to be written to its account's CRM exactly once.

    Enqueued in the transaction that logged the touch; `key` is the idempotency key the
    CRM record carries (and the sync reads back). No foreign key to the touch: a touch
    taken back is deleted, and its outbox row says what happens in the CRM.
    """

    __tablename__ = "crm_outbox"
    __table_args__ = (Index("ix_crm_outbox_status_next", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)
    touch_id: int = Field(index=True)
    source: str = Field(max_length=32)
    account_external_id: str = Field(max_length=128)
    kind: str = Field(max_length=16)
    touched_at: datetime = Field(sa_type=UTCDateTime)
    note: str | None = Field(default=None, sa_column=Column(Text))
    rep_email: str | None = Field(default=None, max_length=320)
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=status_type(OutboxStatus))
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    crm_id: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
