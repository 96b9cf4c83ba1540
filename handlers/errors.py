"""One place that turns errors into friendly replies: never a stack trace in Slack."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_sdk.errors import SlackApiError

from bot.retention.errors import RebuyError
from handlers import blocks

log = logging.getLogger(__name__)
SORRY = (
    "Sorry, something went wrong on my side and I couldn't finish that. "
    "It has been logged; please try again in a minute."
)


def register(app: App) -> None:
    @app.error
    def on_error(error: Exception, body: dict, respond, client, logger) -> None:
        if isinstance(error, RebuyError):
            text = blocks.escape(error.message)
        else:
            logger.exception("unhandled error in a listener", exc_info=error)
            text = SORRY
        payload = blocks.notice(f"⚠️ {text}" if text is SORRY else text)
        user_id = (body.get("user") or {}).get("id") or body.get("user_id")
        try:
            if body.get("response_url") and respond is not None:
                respond(**payload, response_type="ephemeral", replace_original=False)
            elif user_id and body.get("type") in ("block_actions", "view_submission"):
                client.chat_postMessage(channel=user_id, **payload)
        except SlackApiError as reply_error:
            logger.warning("could not tell the user about an error: %s", reply_error)
