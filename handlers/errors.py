"""One place that turns errors into friendly replies: never a stack trace in Slack.

Only a request that passed Bolt's verification is ever answered: a request that failed
it (or raised inside it) may name any `response_url` or user, so the error handler then
makes no outbound call at all. "Passed" is marked by a middleware, which Bolt runs only
after its own verification middleware let the request through.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.db_deadline import is_lock_timeout, is_unavailable
from bot.messages.kit import escape_message, notice
from bot.retention.errors import RebuyError

log = logging.getLogger(__name__)
SORRY = (
    "Sorry, something went wrong on my side and I couldn't finish that. "
    "It has been logged; please try again in a minute."
)
DATABASE_DOWN = (
    "Rebuy can't reach its database right now, so I couldn't finish that. "
    "Please try again in a few minutes."
)
DATABASE_BUSY = (
    "Rebuy's database is busy right now, so I couldn't finish that. Please try again in a minute."
)
# Shown in a modal's form when its check could not read the database.
FORM_DATABASE_DOWN = "Rebuy can't reach its database right now. Please try again in a few minutes."
FORM_DATABASE_BUSY = "Rebuy's database is busy right now. Please try again in a minute."
# Set in Bolt's context once the request passed Bolt's own verification.
VERIFIED = "rebuy_verified"


def database_unavailable(error: BaseException) -> bool:
    """A database that refuses, drops, does not answer in time or stays locked."""
    return is_unavailable(error)


def tell_user(error: Exception, *, body: dict, respond, client: WebClient, logger=log) -> None:
    """Answer the person whose request failed: the domain's message, or a generic apology."""
    if isinstance(error, RebuyError):
        text = escape_message(error.message)
    elif database_unavailable(error):
        logger.warning("database unavailable in a listener: %s", type(error).__name__)
        busy = getattr(error, "busy", False) or is_lock_timeout(error)
        text = f"⚠️ {DATABASE_BUSY if busy else DATABASE_DOWN}"
    else:
        logger.error("unhandled error in a listener", exc_info=error)
        text = f"⚠️ {SORRY}"
    payload = notice(text)
    user_id = (body.get("user") or {}).get("id") or body.get("user_id")
    try:
        if body.get("response_url") and respond is not None:
            respond(**payload, response_type="ephemeral", replace_original=False)
        elif user_id and body.get("type") in ("block_actions", "view_submission"):
            client.chat_postMessage(channel=user_id, **payload)
    except (SlackApiError, OSError) as reply_error:
        logger.warning("could not tell the user about an error: %s", reply_error)


def form_check(
    field: str, *, budget: Callable[[object], AbstractContextManager]
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """For a modal's ack function (it reads the database before Slack's 3 seconds are
    up), run under `budget(runtime)`: a database that does not answer in time is shown
    in the form, on `field`, instead of failing the ack (Slack would show "trouble
    connecting"). The wrapped function takes the same arguments (Bolt injects them by
    name, reading the names through `functools.wraps`)."""

    def wrap(check: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(check)
        def checked(ack, body: dict, view: dict, context, runtime, work) -> None:
            try:
                with budget(runtime):
                    check(ack, body, view, context, runtime, work)
            except Exception as error:
                if not database_unavailable(error):
                    raise
                log.warning("a modal's check could not read the database: %s", type(error).__name__)
                busy = getattr(error, "busy", False) or is_lock_timeout(error)
                text = FORM_DATABASE_BUSY if busy else FORM_DATABASE_DOWN
                ack(response_action="errors", errors={field: text})

        return checked

    return wrap


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
    @app.middleware
    def mark_verified(context, next) -> None:
        # Bolt runs app middleware only after RequestVerification accepted the request
        # (Socket Mode requests arrive over an authenticated connection).
        context[VERIFIED] = True
        next()

    @app.error
    def on_error(error: Exception, body: dict, respond, client, logger, context) -> None:
        if not context.get(VERIFIED):
            # Never act on an unverified body: its response_url or user id could be anyone.
            logger.warning("error before verification, not answered: %s", type(error).__name__)
            return
        tell_user(error, body=body, respond=respond, client=client, logger=logger)
