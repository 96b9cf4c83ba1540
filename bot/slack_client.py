"""The Slack Web API client Rebuy uses everywhere: one factory, retries built in."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    HttpRequest,
    RateLimitErrorRetryHandler,
    RetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.webhook import WebhookClient

from bot.retention.errors import RebuyError
from bot.settings import DEFAULT_SLACK_API_URL, Settings

# Slack answers most calls in well under a second; a stuck connection should
# fail fast enough to be retried rather than hold a listener thread.
REQUEST_TIMEOUT_SECONDS = 10
CONNECTION_RETRIES = 2
# A daily reminder run to thousands of reps is paced by Slack's per-channel and
# per-workspace limits; each 429 names its own wait (Retry-After), so waiting
# several times for the same message is normal, not a fault.
RATE_LIMIT_RETRIES = 5
SERVER_ERROR_RETRIES = 3
WEBHOOK_TIMEOUT_SECONDS = 10

# Methods that can be sent again safely after a 5xx, a timeout or a dropped connection:
# reads, and writes that set a state (a second chat.update or views.publish leaves the
# same result). chat.postMessage and chat.postEphemeral are not among them: Slack may
# have posted before failing, and a retry would post the message twice.
IDEMPOTENT_METHODS = frozenset(
    {
        "api.test",
        "auth.test",
        "bots.info",
        "chat.delete",
        "chat.update",
        "conversations.history",
        "conversations.info",
        "conversations.open",
        "conversations.replies",
        "reactions.get",
        "team.info",
        "users.info",
        "users.list",
        "users.lookupByEmail",
        "views.open",
        "views.publish",
        "views.push",
        "views.update",
    }
)


def api_method(request: HttpRequest) -> str:
    """The Web API method a request calls (the last part of its URL path)."""
    return request.url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]


def is_idempotent(request: HttpRequest) -> bool:
    return api_method(request) in IDEMPOTENT_METHODS


class AnyServerErrorRetryHandler(ServerErrorRetryHandler):
    """Retries every 5xx (502 and 504 from Slack's edge too), not only 500 and 503, of
    the methods that are safe to send again."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        return (
            response is not None and 500 <= response.status_code <= 599 and is_idempotent(request)
        )


class IdempotentConnectionErrorRetryHandler(ConnectionErrorRetryHandler):
    """Retries a dropped connection or a timeout only for methods safe to send again."""

    def _can_retry(self, *, state, request, response=None, error=None) -> bool:
        return is_idempotent(request) and super()._can_retry(
            state=state, request=request, response=response, error=error
        )


def make_retry_handlers(*, only_rate_limits: bool = False) -> list[RetryHandler]:
    """slack_sdk's retry handlers, configured for Rebuy.

    Connection errors and 5xx of idempotent methods (`IDEMPOTENT_METHODS`) back off
    exponentially (0.5 s, 1 s, 2 s, plus up to
    1 s of jitter); 429s sleep for the `Retry-After` Slack sent (plus up to 1 s of
    jitter). The retry budget is shared by all handlers for one call.

    `only_rate_limits` keeps just the 429 handler: a 429 means Slack refused the
    message, but after a dropped connection or a 5xx it may have posted it, and
    reminders must not be posted twice (their run resumes later and checks first).
    """
    rate_limits = RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)
    if only_rate_limits:
        return [rate_limits]
    backoff = BackoffRetryIntervalCalculator(backoff_factor=0.5)
    return [
        IdempotentConnectionErrorRetryHandler(
            max_retry_count=CONNECTION_RETRIES, interval_calculator=backoff
        ),
        rate_limits,
        AnyServerErrorRetryHandler(
            max_retry_count=SERVER_ERROR_RETRIES, interval_calculator=backoff
        ),
    ]


def make_web_client(
    settings: Settings, *, token: str | None = None, only_rate_limits: bool = False
) -> WebClient:
    """A `WebClient` pointed at `settings.slack_api_url` that retries what is safe to retry.

    `token` overrides `settings.slack_bot_token` (for example a user token). Reminder
    delivery passes `only_rate_limits=True` (see `make_retry_handlers`).
    Thread-safe: one client can be shared by all listener and scheduler threads.
    """
    return WebClient(
        token=token if token is not None else settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=REQUEST_TIMEOUT_SECONDS,
        retry_handlers=make_retry_handlers(only_rate_limits=only_rate_limits),
    )


def make_webhook_client(url: str) -> WebhookClient:
    """A client for one `response_url`. Only 429s are retried: a post to a response_url
    that failed with a 5xx or a dropped connection may have been shown already."""
    return WebhookClient(
        url=url,
        timeout=WEBHOOK_TIMEOUT_SECONDS,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
    )


# Slack's Web API names its errors in snake case ("invalid_auth", "token_revoked").
_SLACK_ERROR = re.compile(r"[a-z0-9_]+")


@contextmanager
def said_at_start_up(
    *, base_url: str, doing: str, refused: str, unreachable: str
) -> Iterator[None]:
    """Turn a failed start-up call to Slack into one sentence saying what is wrong (a
    RebuyError): Slack down, an address that is not Slack, the token (`refused`, with
    `{code}`), or no way there (`unreachable`, with `{reason}`). `doing` says what Rebuy
    was doing ("checked its bot token")."""
    custom = base_url != DEFAULT_SLACK_API_URL
    try:
        yield
    except SlackApiError as error:
        status = error.response.status_code
        code = error.response.get("error") if isinstance(error.response.data, dict) else None
        if status == 429 or status >= 500:
            # The client has already retried these: Slack is down or overloaded.
            raise RebuyError(
                f"Slack answered HTTP {status} when Rebuy {doing}, after retries: Slack may "
                "be having trouble (https://slack-status.com). Start Rebuy again in a few "
                f"minutes{'; check SLACK_API_URL too' if custom else ''}."
            ) from None
        if not isinstance(code, str) or not _SLACK_ERROR.fullmatch(code):
            # A 404 page, a proxy's or a captive portal's HTML: not Slack's Web API.
            raise RebuyError(
                f"{base_url} did not answer like Slack's Web API (HTTP {status}, not a "
                "Slack answer): check SLACK_API_URL and any proxy between this machine and "
                "Slack, then start Rebuy again."
            ) from None
        if code == "unknown_method":  # Slack's answer, but not at its methods' address
            raise RebuyError(
                f"{base_url} answered that auth.test is no method there: check SLACK_API_URL "
                "(Slack's Web API address ends in /api/), then start Rebuy again."
            ) from None
        raise RebuyError(refused.format(code=code)) from None
    except OSError as error:  # no answer: refused, unreachable, DNS, timed out
        reason = getattr(error, "reason", None) or error
        setting = " (or SLACK_API_URL, which is set)" if custom else ""
        raise RebuyError(unreachable.format(reason=reason, setting=setting)) from None


# What each Slack credential looks like, and where an admin finds the right one. A value
# pasted into the wrong variable (an xapp- token as the bot token, the bot token as the
# signing secret) otherwise starts Rebuy, or fails later with a message about something
# else: 401s on every request, "could not be reached" for every rep.
_TOKEN_KINDS = {
    "xoxb-": "a bot token",
    "xapp-": "an app-level token",
    "xoxp-": "a user token",
    "xoxe.xoxp-": "a user token",  # with token rotation on
    "xoxe": "a refresh or configuration token",
}
_WHERE = {
    "SLACK_BOT_TOKEN": "the Bot User OAuth Token (xoxb-…, OAuth & Permissions)",
    "SLACK_APP_TOKEN": "an app-level token (xapp-…, Basic Information, App-Level Tokens)",
    "SLACK_SIGNING_SECRET": "the Signing Secret (Basic Information, App Credentials)",
}
_EXPECTED_PREFIX = {"SLACK_BOT_TOKEN": "xoxb-", "SLACK_APP_TOKEN": "xapp-"}


def credential_problem(name: str, value: str | None) -> str | None:
    """One sentence when `value` cannot be the Slack credential `name` says, else None."""
    if not value:
        return None
    where = _WHERE[name]
    if not value.isascii() or any(c.isspace() or c in "\"'`" for c in value):
        return (
            f"{name} contains spaces, quotes or non-ASCII characters (a copy-paste "
            f"slip?): set it to {where}, nothing else."
        )
    kind = next((k for p, k in _TOKEN_KINDS.items() if value.startswith(p)), None)
    expected = _EXPECTED_PREFIX.get(name)
    if expected is not None and value.removeprefix("xoxe.").startswith(expected):
        return None  # with token rotation on, a bot token reads "xoxe.xoxb-…"
    if kind is not None:
        return f"{name} holds {kind} ({value[:5]}…): set it to {where}."
    if expected is not None:
        return f"{name} does not look like {_TOKEN_KINDS[expected]}: set it to {where}."
    return None


def check_credentials(settings: Settings, *names: str) -> None:
    """RebuyError naming the first of `names` (SLACK_BOT_TOKEN, …) that is set to
    something it cannot be."""
    for name in names:
        problem = credential_problem(name, getattr(settings, name.lower()))
        if problem is not None:
            raise RebuyError(problem)


def check_bot_token(client: WebClient, *, doing: str) -> None:
    """auth.test before a command's real work, so a refused token or an unreachable
    Slack is one sentence instead of a per-rep failure or a traceback-like error."""
    with said_at_start_up(
        base_url=client.base_url,
        doing=doing,
        refused="Slack refused the bot token ({code}): check SLACK_BOT_TOKEN.",
        unreachable=(
            f"Could not reach Slack at {client.base_url} ({{reason}}): check this "
            "machine's network{setting}, then try again."
        ),
    ):
        client.auth_test()
