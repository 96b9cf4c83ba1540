"""What every live source yields: canonical rows in batches, each with a cursor to resume from.

The rows carry the same fields as the CSV import (README "CSV formats"), typed,
with the source's own ids, so a sync is planned and checked by the same importer
as a file. A source is pulled one kind at a time:

    for batch in source.pull("orders", cursor):
        ...plan and write batch.rows and batch.removed, then store batch.cursor
        in the same transaction...

A cursor is the last-modified time and record id of the last record a batch
holds; pulling again from it yields only what changed after that record. A
batch's cursor never runs ahead of its rows, so a run stopped half-way resumes
where its last stored batch ended.

Records archived, deleted or merged away in the source arrive as `Removed`
entries (never as silently missing rows), from the kind's "removed" stream
(`removed_kind("accounts")` == "accounts:removed") or, for merges a source
reports on the surviving record, alongside the survivor's row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol, TypeVar

from bot.clock import as_utc
from bot.retention.errors import RebuyError

KINDS = ("accounts", "contacts", "orders", "touches")
_REMOVED = ":removed"


def removed_kind(kind: str) -> str:
    """The stream of records of `kind` that were deleted, archived or merged away."""
    return kind + _REMOVED


def base_kind(stream: str) -> str:
    """ "accounts:removed" -> "accounts"; "accounts" -> "accounts"."""
    return stream.removesuffix(_REMOVED)


def is_removed_stream(stream: str) -> bool:
    return stream.endswith(_REMOVED)


@dataclass(frozen=True, order=True)
class Cursor:
    """Resume point: everything up to and including (modified_at, record_id) has been pulled."""

    modified_at: datetime
    record_id: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "modified_at", as_utc(self.modified_at))

    def to_text(self) -> str:
        """For the sync-run table: `2026-01-02T03:04:05.678000+00:00|12345`."""
        return f"{self.modified_at.isoformat()}|{self.record_id}"

    @classmethod
    def from_text(cls, text: str) -> Cursor:
        when, _, record_id = text.partition("|")
        try:
            return cls(datetime.fromisoformat(when), record_id)
        except ValueError:
            raise SourceError(f"Stored sync cursor “{text}” is not a time|id pair.") from None


@dataclass(frozen=True)
class AccountRow:
    external_id: str
    name: str
    owner_email: str | None = None
    tier: str | None = None
    annual_value: Decimal | None = None
    cadence_days: int | None = None


@dataclass(frozen=True)
class ContactRow:
    account_external_id: str
    name: str
    email: str | None = None
    title: str | None = None
    external_id: str | None = None  # the CRM's contact id


@dataclass(frozen=True)
class OrderRow:
    account_external_id: str
    ordered_at: datetime
    amount: Decimal
    order_id: str
    product: str | None = None


@dataclass(frozen=True)
class TouchRow:
    account_external_id: str
    touched_at: datetime
    kind: str  # one of TOUCH_KINDS (models)
    rep_email: str | None = None
    note: str | None = None
    external_id: str | None = None  # the CRM's activity id
    # Set when Rebuy wrote this activity (write-back): the touch it came from, so
    # the sync links it to that touch instead of importing it a second time.
    rebuy_key: str | None = None


Row = AccountRow | ContactRow | OrderRow | TouchRow

# The importer's column names for each kind (touches: the CRM's id is `touch_id`).
_IMPORT_NAMES = {"touches": {"external_id": "touch_id"}}


def import_row(kind: str, row: Row) -> dict[str, str]:
    """A canonical row as the text cells of a CSV row the importer reads (empty for None)."""
    names = _IMPORT_NAMES.get(kind, {})
    cells: dict[str, str] = {}
    for name, value in asdict(row).items():
        if value is None:
            text = ""
        elif isinstance(value, datetime):
            text = value.isoformat()
        else:
            text = str(value)
        cells[names.get(name, name)] = text
    return cells


@dataclass(frozen=True)
class Removed:
    """A record deleted or archived in the source, or merged into `merged_into`."""

    kind: str
    external_id: str
    removed_at: datetime | None = None
    merged_into: str | None = None


@dataclass(frozen=True)
class Skipped:
    """A source record that cannot become a row (e.g. an activity on no company)."""

    record_id: str
    reason: str
    # True for a record the source holds but that is malformed (a date that is not a
    # date): listed with the run's problems. False: simply not a row (an open task).
    malformed: bool = False


@dataclass(frozen=True)
class Batch:
    kind: str  # the stream pulled: a kind, or removed_kind(kind)
    rows: tuple[Row, ...] = ()
    removed: tuple[Removed, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    cursor: Cursor | None = None  # where the next pull resumes; None: no record was read

    def __len__(self) -> int:
        return len(self.rows) + len(self.removed) + len(self.skipped)


class Source(Protocol):
    """A live source of accounts, contacts, orders and touches."""

    name: str
    streams: tuple[str, ...]  # what `pull` accepts, e.g. KINDS + removed streams

    def pull(self, kind: str, cursor: Cursor | None = None) -> Iterator[Batch]:
        """Batches of records changed after `cursor` (everything when None), oldest first."""
        ...


class SourceError(RebuyError):
    """A source could not be read or written; the message says which and why."""


class SourceAuthError(SourceError):
    """The source refused our credentials (expired or revoked token)."""


class SourcePermissionError(SourceAuthError):
    """The credentials work but lack a permission (a HubSpot scope): nothing to retry."""


class SourceUnavailable(SourceError):
    """The source kept failing (rate limits or server errors) after every retry."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries for rate limits (429) and server errors (5xx).

    The wait is the server's own hint when it gives one (capped at `max_wait`),
    else exponential backoff from `backoff`. `sleep` is injected so tests and
    benchmarks do not wait for real.
    """

    attempts: int = 6
    backoff: float = 0.5
    max_wait: float = 60.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def wait_for(self, attempt: int, hint: float | None) -> float:
        if hint is not None:
            return min(max(hint, 0.0), self.max_wait)
        return min(self.backoff * (2 ** (attempt - 1)), self.max_wait)


@dataclass(frozen=True)
class Failure:
    """How a source client's exception is classified for retrying."""

    status: int | None  # HTTP status; None when there was no answer (connection error)
    wait_hint: float | None = None  # seconds the server asked us to wait
    # What to tell people when the source explained a refusal (e.g. a missing scope).
    explanation: str | None = None


T = TypeVar("T")


def with_retries(
    call: Callable[[], T],
    *,
    policy: RetryPolicy,
    classify: Callable[[Exception], Failure | None],
    source: str,
    what: str,
) -> T:
    """Run `call`, retrying 429/5xx/connection failures within `policy`; 401 raises SourceAuthError.

    `classify` returns None for exceptions that are not the source's (they propagate).
    """
    for attempt in range(1, policy.attempts + 1):
        try:
            return call()
        except Exception as error:
            failure = classify(error)
            if failure is None:
                raise
            if failure.status == 401:
                raise SourceAuthError(
                    f"{source} refused the access token while reading {what} (HTTP 401): "
                    "the token has expired or was revoked. Renew it and run the sync again."
                ) from error
            retryable = failure.status is None or failure.status == 429 or failure.status >= 500
            if not retryable and failure.explanation:
                raise SourcePermissionError(
                    f"{source} refused {what}: {failure.explanation}"
                ) from error
            if not retryable:
                raise SourceError(
                    f"{source} answered HTTP {failure.status} while reading {what}: {error}"
                ) from error
            if attempt == policy.attempts:
                status = "no answer" if failure.status is None else f"HTTP {failure.status}"
                raise SourceUnavailable(
                    f"{source} kept failing while reading {what} ({status} after "
                    f"{policy.attempts} attempts). Nothing past the last stored batch was "
                    "taken; run the sync again later."
                ) from error
            policy.sleep(policy.wait_for(attempt, failure.wait_hint))
    raise AssertionError("unreachable")  # pragma: no cover
