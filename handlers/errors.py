"""One place that turns errors into friendly replies: never a stack trace in Slack."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.retention.errors import RebuyError
from handlers import blocks

log = logging.getLogger(__name__)
SORRY = (
    "Sorry, something went wrong on my side and I couldn't finish that. "
    "It has been logged; please try again in a minute."
)


def tell_user(error: Exception, *, body: dict, respond, client: WebClient, logger=log) -> None:
    """Answer the person whose request failed: the domain's message, or a generic apology."""
    if isinstance(error, RebuyError):
        text = blocks.escape(error.message)
    else:
        logger.error("unhandled error in a listener", exc_info=error)
        text = f"⚠️ {SORRY}"
    payload = blocks.notice(text)
    user_id = (body.get("user") or {}).get("id") or body.get("user_id")
    try:
        if body.get("response_url") and respond is not None:
            respond(**payload, response_type="ephemeral", replace_original=False)
        elif user_id and body.get("type") in ("block_actions", "view_submission"):
            client.chat_postMessage(channel=user_id, **payload)
    except (SlackApiError, OSError) as reply_error:
        logger.warning("could not tell the user about an error: %s", reply_error)


@contextmanager
def replying_to_errors(body: dict, respond, client: WebClient) -> Iterator[None]:
    """For listeners that have already acked: answer errors here, never let them escape.

    Bolt waits for `ack()` by polling every 10 ms; when a listener acks and then fails
    inside that window, Bolt replaces the ack with None and Slack gets a 404. Handling
    the error inside the listener keeps the 200 and still tells the user.
    """
    try:
        yield
    except Exception as error:
        tell_user(error, body=body, respond=respond, client=client)


def register(app: App) -> None:
    @app.error
    def on_error(error: Exception, body: dict, respond, client, logger) -> None:
        tell_user(error, body=body, respond=respond, client=client, logger=logger)
