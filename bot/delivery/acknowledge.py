"""Keeping a reminder message's acknowledgements current: after a reaction, or a touch or
snooze logged from its buttons, the message is re-rendered with a line per action."""

from __future__ import annotations

import json
import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.messages.kit import context, finish_dicts
from bot.messages.reminder import acknowledgement
from bot.retention.reactions import acknowledgements, reminder_message_at
from bot.runtime import Runtime

log = logging.getLogger(__name__)


def refresh_reminder_message(runtime: Runtime, client: WebClient, *, channel: str, ts: str) -> bool:
    """Re-render a reminder's account message with a line per touch or snooze logged on it,
    by a reaction or through its buttons' forms (e.g. "📞 Call logged by @ana"). False
    when (channel, ts) is not a reminder."""
    with runtime.db.session() as session:
        message = reminder_message_at(session=session, channel=channel, ts=ts)
        if message is None:
            return False
        acks = acknowledgements(session=session, message=message)
        lines = [acknowledgement(ack) for ack in acks]
        original = json.loads(message.blocks_json)
        text = message.text
    acks = [context(line).to_dict() for line in lines[:10]]
    try:
        client.chat_update(
            channel=channel, ts=ts, text=text, blocks=finish_dicts([*original, *acks])
        )
    except SlackApiError as error:
        log.warning(
            "chat.update of reminder %s/%s failed: %s", channel, ts, error.response.get("error")
        )
    return True
