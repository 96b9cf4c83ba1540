"""Finding out what Slack has when a post's answer was lost.

A `chat.postMessage` that failed with a 5xx, a timeout or a dropped connection may have
been delivered. Each reminder message carries message metadata (run id, position), so
the DM's history (`conversations.history` with `include_all_metadata`) tells which
were. When the history cannot be read (5xx, missing_scope, a dropped connection) the
read is retried with backoff; while it stays unreadable the message is held, never
posted blindly.
"""

from __future__ import annotations

import http.client
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.delivery.common import REMINDER_METADATA

log = logging.getLogger(__name__)

# A run marks its error with this when a message may have reached Slack unrecorded: the
# next attempt must read the history before posting anything.
UNCERTAIN = "uncertain: "


# Waits between attempts: about 30 s on one message at worst, then the next sweep.
DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)


@dataclass(frozen=True)
class Backoff:
    """Waits between attempts, bounded: after the last one the caller gives up (the next
    sweep carries on)."""

    delays: tuple[float, ...] = field(default_factory=lambda: DELAYS)
    sleep: Callable[[float], None] = time.sleep


class HistoryUnreadable(Exception):
    """The DM's history could not be read after retries: what was posted is unknown."""


def status_of(error: Exception) -> int | None:
    if isinstance(error, SlackApiError) and error.response is not None:
        return getattr(error.response, "status_code", None)
    return None


def is_uncertain(error: Exception) -> bool:
    """True when the request may have been carried out although it failed: an HTTP 5xx,
    a timeout or a dropped connection. Slack's own refusals (HTTP 200 ok:false, 429)
    mean nothing was posted."""
    if isinstance(error, SlackApiError):
        status = status_of(error)
        return status is not None and status >= 500
    return isinstance(error, OSError | http.client.HTTPException)


def is_retryable(error: Exception) -> bool:
    """Worth another try within the run: uncertain failures and rate limits."""
    return is_uncertain(error) or status_of(error) == 429


def posted_positions(
    client: WebClient, channel: str, *, run_id: int, since: datetime, backoff: Backoff
) -> dict[int, str]:
    """Position -> ts of this run's messages already in `channel`. Raises
    HistoryUnreadable when every read failed."""
    last: Exception | None = None
    for attempt in range(len(backoff.delays) + 1):
        if attempt:
            backoff.sleep(backoff.delays[attempt - 1])
        try:
            found = messages_with_metadata(client, channel, since, REMINDER_METADATA)
        except (SlackApiError, OSError, http.client.HTTPException) as error:
            last = error
            log.warning(
                "cannot read %s to check earlier posts: %s", channel, describe_error(error, 300)
            )
            continue
        return {
            int(payload["position"]): ts
            for payload, ts in found
            if payload.get("run_id") == run_id and payload.get("position") is not None
        }
    raise HistoryUnreadable(describe_error(last, 300) if last else "unreadable")


def messages_with_metadata(
    client: WebClient, channel: str, since: datetime, event_type: str
) -> list[tuple[dict, str]]:
    """(payload, ts) of the messages in `channel` since `since` (a minute's slack for
    clocks) that carry `event_type` metadata, every page. Slack's errors propagate."""
    found = []
    cursor = None
    while True:
        response = client.conversations_history(
            channel=channel,
            oldest=f"{since.timestamp() - 60:.6f}",
            limit=200,
            include_all_metadata=True,
            cursor=cursor,
        )
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            if metadata.get("event_type") == event_type:
                found.append((metadata.get("event_payload") or {}, message["ts"]))
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return found


def describe_error(error: Exception, limit: int = 500) -> str:
    """A short line for logs and run errors: Slack's error code (and HTTP status when not
    200), or the exception's type and message."""
    if isinstance(error, SlackApiError):
        response = error.response
        code = (response.get("error") if response is not None else None) or "slack_error"
        status = status_of(error)
        return f"{code} (HTTP {status})" if status and status != 200 else code
    return f"{type(error).__name__}: {error}"[:limit]
