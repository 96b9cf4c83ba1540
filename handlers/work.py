"""The ack path and the work after it.

Listeners are split in two (Bolt's `process_before_response=True` with `lazy=[...]`):
an ack function that runs in the HTTP request thread (parse, validate, ack; no Slack
call, no queue to wait in), and work functions that run afterwards on the app's small
work pool. A watchdog outside that pool apologises on the response_url when the work
has not answered within WORK_DEADLINE_SECONDS; the real answer still follows.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookResponse

from bot.inbox import claim_request
from bot.messages.kit import notice
from bot.runtime import Runtime
from bot.slack_client import make_webhook_client
from handlers.errors import replying_to_errors

if TYPE_CHECKING:
    from handlers.home import HomePublisher

log = logging.getLogger(__name__)

WORK_DEADLINE_SECONDS = 5.0
# Each database statement of a request's work (a ping, a query, a commit, a wait for
# SQLite's write lock) gives up after this long: a stalled database is apologised for
# within about this, and the breaker (bot.db_deadline) answers the rest at once.
WORK_STATEMENT_SECONDS = 3.0
SLOW = (
    "⏳ Sorry, this is taking longer than it should (the database may be busy). "
    "I'll post the answer here as soon as it's ready."
)
TICKET = "rebuy_work"  # the context key an ack function leaves for its work function
SLACK_RESPONSE_URLS = "https://hooks.slack.com/"
# How long a write on the ack path waits for a lock before giving up (Slack retries).
QUICK_LOCK_WAIT_MS = 1_000
# What the ack path may spend on the database in all (a reaction is stored before its
# 200; a modal's form is checked against the account): inside Slack's 3 seconds.
ACK_DB_SECONDS = 1.5


def ack_budget(runtime: Runtime):
    """Database work in the request thread, before Slack gets its answer (Bolt runs a
    listener after its middleware returns, so each ack function takes this itself)."""
    return runtime.db.within(statement=ACK_DB_SECONDS, total=ACK_DB_SECONDS)


def response_url_prefixes(settings) -> tuple[str, ...]:
    """Where a response_url carried in modal metadata may point: Slack's hooks, or the
    host of a non-default Slack API address (a local Slack double in tests)."""
    parts = urlsplit(settings.slack_api_url)
    own = f"{parts.scheme}://{parts.netloc}/"
    return (SLACK_RESPONSE_URLS,) if "slack.com" in parts.netloc else (SLACK_RESPONSE_URLS, own)


def post_once(client: WebClient, **message) -> None:
    """chat.postMessage, never repeated: after a 5xx or a dropped connection Slack may
    have posted it, so the failure is logged and nobody gets it twice (not even as an
    apology on top)."""
    try:
        client.chat_postMessage(**message)
    except SlackApiError as error:
        if error.response.status_code < 500:
            raise
        log.warning("chat.postMessage answered %s; it may have posted", error.response.status_code)
    except OSError as error:
        log.warning("chat.postMessage failed (%s); it may have posted", error)


class Reply:
    """`respond` for one response_url, through a client that never re-posts after a 5xx
    or a dropped connection (the first post may have been shown)."""

    def __init__(self, response_url: str | None) -> None:
        self.response_url = response_url

    def __call__(self, **payload) -> WebhookResponse:
        if not self.response_url:
            raise ValueError("there is no response_url to answer on")
        response = make_webhook_client(self.response_url).send(**payload)
        if response.status_code >= 400:
            log.warning("response_url answered %s: %s", response.status_code, response.body)
        return response


class Watchdog:
    """Apologises on a request's response_url when its work has not answered in time.

    One thread and a heap of deadlines, so it never waits behind the work it watches."""

    def __init__(self, *, deadline: float = WORK_DEADLINE_SECONDS) -> None:
        self.deadline = deadline
        self._heap: list[tuple[float, str]] = []
        self._urls: dict[str, str] = {}
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="rebuy-watchdog", daemon=True)
        self._thread.start()

    def watch(self, key: str, response_url: str | None) -> None:
        if not response_url:
            return
        with self._cond:
            self._urls[key] = response_url
            heapq.heappush(self._heap, (time.monotonic() + self.deadline, key))
            self._cond.notify()

    def answered(self, key: str) -> None:
        with self._cond:
            self._urls.pop(key, None)

    def _next_due(self) -> str | None:
        """Wait for the next deadline to pass; its key (None once stopped)."""
        with self._cond:
            while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                self._cond.wait(timeout)
            if self._stopped:
                return None
            return heapq.heappop(self._heap)[1]

    def _run(self) -> None:
        while (key := self._next_due()) is not None:
            with self._cond:
                url = self._urls.pop(key, None)
            if url is not None:
                log.warning("work for %s has not answered in %.0f s", key, self.deadline)
                try:
                    Reply(url)(**notice(SLOW), response_type="ephemeral", replace_original=False)
                except OSError as error:
                    log.warning("could not apologise for slow work: %s", error)

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()


def request_key(body: dict) -> str:
    """What identifies one command or interaction: its trigger_id (fresh per user
    action), or a hash of the body when it has none."""
    trigger_id = body.get("trigger_id")
    if isinstance(trigger_id, str) and 0 < len(trigger_id) <= 100:
        return f"t:{trigger_id}"
    canonical = json.dumps(body, sort_keys=True, default=str).encode()
    return "h:" + hashlib.sha256(canonical).hexdigest()


class Work:
    """The bookkeeping of every listener's work: its watchdog, and a count of work
    finished (tests wait on it; `rebuy serve` waits for it at shutdown)."""

    def __init__(self, *, deadline: float = WORK_DEADLINE_SECONDS) -> None:
        self.watchdog = Watchdog(deadline=deadline)
        self.done = 0
        self._changed = threading.Condition()

    def __deepcopy__(self, memo: dict) -> Work:
        return self  # one per app (Bolt copies a lazy listener's context)

    def accept(self, context: BoltContext, body: dict, **data: Any) -> None:
        """Called by an ack function that accepted the request: its work will run, with
        `data` (plain values) as `Job.data`, and is watched from now on."""
        key = request_key(body)
        context[TICKET] = {"key": key, "data": data}
        self.watchdog.watch(key, body.get("response_url"))

    def finished(self) -> None:
        with self._changed:
            self.done += 1
            self._changed.notify_all()

    def wait_beyond(self, count: int, timeout: float = 10.0) -> None:
        """Block until more than `count` works have finished."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.done > count, timeout):
                raise AssertionError("the listener's work did not finish in time")

    def shutdown(self) -> None:
        self.watchdog.stop()


def accept(ack: Ack, body: dict, context: BoltContext, work: Work) -> None:
    """The ack function of buttons and commands: in the request thread, no database, no
    Slack call, nothing to wait behind; everything else is work."""
    work.accept(context, body)
    ack()


@dataclass(frozen=True)
class Job:
    """One request's work after the ack: what it needs, injected by Bolt."""

    runtime: Runtime
    client: WebClient
    body: dict
    data: dict  # the plain values the ack function accepted
    reply: Reply  # the request's response_url
    homes: HomePublisher
    subcommands: Mapping[str, Callable[..., None]]  # `/account` verbs other surfaces answer

    @property
    def user_id(self) -> str:
        return self.body["user"]["id"] if "user" in self.body else self.body["user_id"]


def after_ack(do: Callable[[Job], None], *, claim: bool = True) -> Callable[..., None]:
    """`do(job)` as a Bolt lazy function: skipped when the ack refused the request, done
    once per request (`claim`), errors answered to the user, and counted when finished."""

    def lazy(
        body: dict,
        context: BoltContext,
        client: WebClient,
        runtime: Runtime,
        work: Work,
        homes: HomePublisher,
        subcommands: Mapping[str, Callable[..., None]],
    ) -> None:
        ticket = context.get(TICKET)
        reply = Reply(body.get("response_url") or context.get("response_url"))
        try:
            if ticket is None:
                return
            # The claim is database work too: a database that does not answer gets
            # the same apology as any other failure of the work.
            with (
                replying_to_errors(body, reply, client),
                runtime.db.request_work(statement=WORK_STATEMENT_SECONDS),
            ):
                if claim and not _claimed(runtime, body):
                    log.info("ignoring a repeated %s", body.get("type") or body.get("command"))
                    return
                do(Job(runtime, client, body, ticket["data"], reply, homes, subcommands))
        finally:
            if ticket is not None:
                work.watchdog.answered(ticket["key"])
            work.finished()

    # Bolt tells a listener's lazy functions apart by name.
    lazy.__name__ = lazy.__qualname__ = f"{do.__name__}_work"
    return lazy


def _claimed(runtime: Runtime, body: dict) -> bool:
    """Record a command or interaction before acting on it; False when it was already
    claimed (the same signed request sent again)."""
    kind = str(body.get("type") or body.get("command") or "?")
    with runtime.db.transaction() as session:
        return claim_request(session=session, key=request_key(body), kind=kind, now=runtime.now())
