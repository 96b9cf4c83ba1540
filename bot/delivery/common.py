"""Constants the delivery modules share."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from models import ReminderStatus

# A claim older than this without progress belongs to a dead instance and may be taken
# over. Renewed after every post, so only a stalled owner ever loses it.
LEASE = timedelta(minutes=10)
# A run that keeps failing (a deleted user, a revoked token) stops being retried.
MAX_ATTEMPTS = 8
FINISHED = (ReminderStatus.SENT, ReminderStatus.EMPTY)
# Slack: about one message a second per channel, short bursts tolerated. We burst less
# than Slack allows so the per-channel limit never answers 429.
CHANNEL_PER_SEC = 1.0
CHANNEL_BURST = 2
# conversations.open is Tier 3 (50+ a minute); it runs once per rep, ever.
OPEN_PER_MINUTE = 50
REMINDER_METADATA = "rebuy_reminder"
DIGEST_METADATA = "rebuy_digest"
SLACK_ERRORS_CLEARING_DM = frozenset({"channel_not_found", "is_archived", "not_in_channel"})


def default_instance_id() -> str:
    """Who holds a claim: host, process and a random tag (unique per process start)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
