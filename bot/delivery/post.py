"""Posting one reminder message, never twice: each post renews the run's claim, and
after a failure that may have delivered it, the DM's history is read before trying again."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

import sqlalchemy as sa

from bot.delivery.claims import LostClaim, still_ours
from bot.delivery.common import REMINDER_METADATA
from bot.delivery.reconcile import (
    Backoff,
    describe_error,
    is_retryable,
    is_uncertain,
    posted_positions,
)
from bot.runtime import Runtime
from models import ReminderMessage

log = logging.getLogger(__name__)


class Poster:
    """Posts one message at a time, retrying within bounds and never twice: after a
    failure that may have delivered it, the DM's history is read before trying again."""

    def __init__(self, runtime, client, pacer, backoff, run_id, instance_id, since) -> None:
        self.runtime, self.client, self.pacer, self.backoff = runtime, client, pacer, backoff
        self.run_id, self.instance_id, self.since = run_id, instance_id, since
        # History reads back off on a shorter leash: each post attempt may need one.
        self.reads = Backoff(backoff.delays[:3], backoff.sleep)
        self.channel: str | None = None
        self.posted = 0

    def __call__(self, message: tuple[int, int, str, str]) -> None:
        message_id, position, text, blocks_json = message
        channel = self.channel
        uncertain = False
        attempts = len(self.backoff.delays) + 1
        for attempt in range(attempts):
            if attempt:
                self.backoff.sleep(self.backoff.delays[attempt - 1])
            if uncertain:
                found = posted_positions(
                    self.client, channel, run_id=self.run_id, since=self.since, backoff=self.reads
                )
                if position in found:
                    self._record(message_id, channel, found[position])
                    return
            self.pacer.before_post(channel)
            # Still ours? A run taken over (this instance stalled past its lease) must
            # not post again what the new owner posts.
            if not _renew(self.runtime, self.run_id, self.instance_id):
                raise LostClaim()
            try:
                response = self.client.chat_postMessage(
                    channel=channel,
                    text=text,
                    blocks=json.loads(blocks_json),
                    metadata={
                        "event_type": REMINDER_METADATA,
                        "event_payload": {"run_id": self.run_id, "position": position},
                    },
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except Exception as error:
                if not is_retryable(error) or attempt == attempts - 1:
                    raise
                uncertain = uncertain or is_uncertain(error)
                log.info(
                    "post %s/%s to %s: %s", self.run_id, position, channel, describe_error(error)
                )
                continue
            self._record(message_id, response["channel"], response["ts"])
            return

    def _record(self, message_id: int, channel: str, ts: str) -> None:
        self.posted += 1
        if not _record_post(self.runtime, self.run_id, message_id, channel, ts, self.instance_id):
            raise LostClaim()


def record_found(
    runtime: Runtime,
    channel: str,
    run_id: int,
    pending: list[tuple[int, int, str, str]],
    found: Mapping[int, str],
) -> list[tuple[int, int, str, str]]:
    """Record the messages an earlier attempt posted (found by their metadata); the
    rest are still to post."""
    if not found:
        return pending
    still = []
    now = runtime.now()
    with runtime.db.transaction() as session:
        for row in pending:
            message_id, position = row[0], row[1]
            if position in found:
                session.execute(
                    sa.update(ReminderMessage)
                    .where(ReminderMessage.id == message_id, ReminderMessage.ts.is_(None))
                    .values(channel=channel, ts=found[position], posted_at=now)
                    .execution_options(synchronize_session=False)
                )
            else:
                still.append(row)
    log.info("run %s: %d message(s) already in Slack, not posted again", run_id, len(found))
    return still


def _record_post(
    runtime: Runtime, run_id: int, message_id: int, channel: str, ts: str, instance_id: str
) -> bool:
    """Store where the message landed and renew the claim; False when the claim was lost."""
    now = runtime.now()
    with runtime.db.transaction() as session:
        # Never overwrite a ts another instance recorded: that message is the one
        # reactions map to.
        session.execute(
            sa.update(ReminderMessage)
            .where(ReminderMessage.id == message_id, ReminderMessage.ts.is_(None))
            .values(channel=channel, ts=ts, posted_at=now)
            .execution_options(synchronize_session=False)
        )
        return still_ours(session, run_id, instance_id, now)


def _renew(runtime: Runtime, run_id: int, instance_id: str) -> bool:
    with runtime.db.transaction() as session:
        return still_ours(session, run_id, instance_id, runtime.now())
