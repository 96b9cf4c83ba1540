"""The write-back worker: drains `crm_outbox` into the CRMs, each touch exactly once.

Each row is handled in its own transaction (one touch's failure never stops the
others). The CRM write is an upsert on the touch's key, so a crash between the CRM's
answer and our update, or a retry after a lost answer, finds the activity already
there instead of making a second one. Failures:

- 429/5xx/no answer (after the client's own quick retries): the row waits with
  exponential backoff (1, 2, 4 … minutes, at most 6 hours) and is tried again;
- 401 (token expired or revoked): the row is marked `auth_failed` with the reason,
  and the rest of that CRM's rows wait for the next drain (renew the token);
- any other refusal: retried with backoff, and after MAX_ATTEMPTS marked `failed`
  with the CRM's answer in `last_error` (`rebuy sync status` shows it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import select

from bot.crm.base import SourceAuthError, SourceError
from bot.crm.writeback import OutgoingTouch, TouchWriter
from bot.db import Database
from models import CrmOutbox, OutboxStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(hours=6)
DUE_STATUSES = (OutboxStatus.PENDING, OutboxStatus.DELETE, OutboxStatus.AUTH_FAILED)


@dataclass
class OutboxResult:
    sent: int = 0
    deleted: int = 0
    retrying: int = 0
    failed: int = 0
    auth_failed: dict[str, str] = field(default_factory=dict)  # source -> message

    def summary(self) -> str:
        text = (
            f"Write-back: {self.sent:,} touches written, {self.deleted:,} deleted, "
            f"{self.retrying:,} to retry, {self.failed:,} failed"
        )
        for source, message in self.auth_failed.items():
            text += f"\n{source}: {message}"
        return text


def backoff(attempts: int) -> timedelta:
    return min(FIRST_WAIT * (2 ** max(attempts - 1, 0)), LONGEST_WAIT)


def drain_outbox(
    *,
    db: Database,
    writers: Mapping[str, TouchWriter],
    clock: Callable[[], datetime],
    limit: int = 500,
) -> OutboxResult:
    """Write (or delete) every due outbox row whose CRM has a writer."""
    result = OutboxResult()
    now = clock()
    with db.session() as session:
        due = session.exec(
            select(CrmOutbox.id, CrmOutbox.source)
            .where(
                CrmOutbox.status.in_(DUE_STATUSES),
                CrmOutbox.next_attempt_at <= now,
                CrmOutbox.source.in_(list(writers)),
            )
            .order_by(CrmOutbox.id)
            .limit(limit)
        ).all()
    for item_id, source in due:
        if source in result.auth_failed:
            continue
        _handle(db, item_id, writers[source], clock, result)
    return result


def _handle(
    db: Database,
    item_id: int,
    writer: TouchWriter,
    clock: Callable[[], datetime],
    result: OutboxResult,
) -> None:
    with db.transaction() as session:
        item = session.get(CrmOutbox, item_id, with_for_update=True)
        if item is None or item.status not in DUE_STATUSES:
            return  # another worker took it
        now = clock()
        try:
            if item.status == OutboxStatus.DELETE:
                if item.crm_id:
                    writer.delete_touch(item.crm_id, item.kind)
                item.status = OutboxStatus.DELETED
                result.deleted += 1
            else:
                owner = writer.owner_for(item.rep_email) if item.rep_email else None
                written = writer.write_touch(
                    OutgoingTouch(
                        key=item.key,
                        account_external_id=item.account_external_id,
                        touched_at=item.touched_at,
                        kind=item.kind,
                        note=item.note,
                    ),
                    owner,
                )
                item.status = OutboxStatus.SENT
                item.crm_id = written.crm_id
                result.sent += 1
            item.last_error = None
        except SourceAuthError as error:
            if item.status != OutboxStatus.DELETE:
                item.status = OutboxStatus.AUTH_FAILED
            item.last_error = error.message
            item.next_attempt_at = now
            result.auth_failed[item.source] = error.message
        except SourceError as error:
            item.attempts += 1
            item.last_error = error.message
            if item.attempts >= MAX_ATTEMPTS:
                item.status = OutboxStatus.FAILED
                result.failed += 1
            else:
                if item.status == OutboxStatus.AUTH_FAILED:
                    item.status = OutboxStatus.PENDING
                item.next_attempt_at = now + backoff(item.attempts)
                result.retrying += 1
            log.warning("write-back of %s: %s", item.key, error.message)
        item.updated_at = now
        session.add(item)
