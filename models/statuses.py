"""The states a run or an outbox row moves through, as enums stored as their plain
strings (VARCHAR(16), no database enum type or constraint: the same column as ever)."""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa


class ReminderStatus(StrEnum):
    """A rep's reminder for one day: claimed -> sent | failed | empty; a claim whose lease
    ran out may be taken over."""

    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"
    EMPTY = "empty"


class DigestStatus(StrEnum):
    """The weekly digest for one week: claimed -> sent | failed, or unverified when a
    taken-over claim cannot tell whether the dead attempt posted (never posted again)."""

    CLAIMED = "claimed"
    SENT = "sent"
    FAILED = "failed"
    UNVERIFIED = "unverified"


class SyncStatus(StrEnum):
    """One `rebuy sync` run: running -> ok | partial | failed; a run a crash left
    running is marked interrupted by the next one."""

    RUNNING = "running"
    OK = "ok"
    PARTIAL = "partial"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class OutboxStatus(StrEnum):
    """A touch to write to the CRM: pending -> sent | failed | auth_failed; a touch taken
    back is cancelled before it is sent, or marked delete (then deleted) after."""

    PENDING = "pending"
    SENT = "sent"
    CANCELLED = "cancelled"
    DELETE = "delete"
    DELETED = "deleted"
    FAILED = "failed"
    AUTH_FAILED = "auth_failed"


def status_type(enum: type[StrEnum]) -> sa.Enum:
    """The column type: VARCHAR(16) holding the member's value, read back as the member."""
    return sa.Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
