"""Small helpers the Slack handlers share: who is acting, reps from Slack users."""

from __future__ import annotations

import hashlib
import heapq
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookResponse
from sqlalchemy.exc import IntegrityError

from bot.messages.kit import escape, notice
from bot.retention.actions import Actor, rep_for_slack_user, snooze_account
from bot.retention.reps import link_rep
from bot.retention.signals import day_label
from bot.retention.tactics import record_exposure
from bot.runtime import Runtime
from bot.slack_client import make_webhook_client
from handlers.errors import replying_to_errors
from models import Account, Rep, SlackRequest

log = logging.getLogger(__name__)


def actor_for(runtime: Runtime, user_id: str | None) -> Actor:
    return Actor(slack_user_id=user_id, is_admin=user_id in runtime.settings.admin_user_ids)


# A Slack user who is not a rep (a manager, an admin) is asked about again after this long,
# so that /account does not call users.info on every command of theirs.
NOT_A_REP_FOR = timedelta(hours=1)


def rep_today(runtime: Runtime, rep: Rep | None) -> date:
    """Today for this rep, in their own Slack time zone."""
    return runtime.today_in(rep.tz if rep else None)


def user_tz(runtime: Runtime, user_id: str | None) -> str | None:
    """The Slack user's time zone, as their rep's (None when not a rep)."""
    with runtime.db.session() as session:
        rep = rep_for_slack_user(session=session, slack_user_id=user_id)
        return rep.tz if rep else None


def user_today(runtime: Runtime, user_id: str | None) -> date:
    """Today for the Slack user acting (their rep's zone; UTC when not a rep)."""
    return runtime.today_in(user_tz(runtime, user_id))


def current_rep(*, runtime: Runtime, client: WebClient, user_id: str) -> Rep | None:
    """The Rep behind a Slack user; links them by e-mail on first sight (users.info).

    Opens its own sessions and calls Slack outside any transaction: on SQLite a write
    transaction holds the database lock, and a slow users.info must not hold it too.
    The Rep comes back detached, its columns loaded.
    """
    with runtime.db.session() as session:
        rep = rep_for_slack_user(session=session, slack_user_id=user_id)
    if rep is not None:
        return rep
    not_reps = runtime.caches.setdefault("not_reps", {})
    asked = not_reps.get(user_id)
    if asked is not None and runtime.now() - asked < NOT_A_REP_FOR:
        return None
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as error:
        log.warning("users.info failed for %s: %s", user_id, error.response.get("error"))
        return None
    email = (user.get("profile") or {}).get("email")
    if not email:
        not_reps[user_id] = runtime.now()
        return None
    with runtime.db.transaction() as session:
        rep = link_rep(
            session=session,
            email=email,
            slack_user_id=user_id,
            tz=user.get("tz"),
            name=user.get("real_name") or (user.get("profile") or {}).get("real_name"),
            now=runtime.now(),
        )
    if rep is None:
        not_reps[user_id] = runtime.now()
    return rep


def note_tactics_shown(runtime: Runtime, status) -> None:
    """Remember the card's tactics (so the next card rotates) in a short write of its own.
    Best effort: the rep still gets the card if this fails."""
    if not status.tactics:
        return
    try:
        with runtime.db.transaction() as session:
            record_exposure(
                session=session,
                account_id=status.id,
                tactic_ids=[pick.id for pick in status.tactics],
                now=runtime.now(),
                surface="card",
            )
    except sa.exc.SQLAlchemyError:
        log.warning("could not record the tactics shown for account %s", status.id, exc_info=True)


def snooze_and_confirm(
    runtime: Runtime, account_id: int, *, until: date, reason: str | None, user_id: str
) -> str:
    """Snooze the account as the acting user in a short write; the confirmation line."""
    with runtime.db.transaction() as session:
        snooze_account(
            session=session,
            account_id=account_id,
            until=until,
            now=runtime.now(),
            actor=actor_for(runtime, user_id),
            reason=reason,
        )
        name = session.get(Account, account_id).name
    return f"💤 *{escape(name)}* snoozed until {day_label(until)}."


# --- the ack path and the work after it ---------------------------------------------------
# Listeners are split in two (Bolt's `process_before_response=True` with `lazy=[...]`):
# an ack function that runs in the HTTP request thread (parse, validate, ack; no Slack
# call, no queue to wait in), and work functions that run afterwards on the app's small
# work pool. A watchdog outside that pool apologises on the response_url when the work
# has not answered within WORK_DEADLINE_SECONDS; the real answer still follows.

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

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                _, key = heapq.heappop(self._heap)
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


def claim_request(runtime: Runtime, body: dict) -> bool:
    """Record a command or interaction before acting on it; False when it was already
    claimed (the same signed request sent again)."""
    try:
        with runtime.db.transaction() as session:
            session.add(
                SlackRequest(
                    request_key=request_key(body),
                    kind=str(body.get("type") or body.get("command") or "?")[:32],
                    received_at=runtime.now(),
                )
            )
    except IntegrityError:
        return False
    return True


class Work:
    """The work half of every listener, with its watchdog and a count of work finished
    (tests wait on it; `rebuy serve` waits for it at shutdown)."""

    def __init__(self, runtime: Runtime, *, deadline: float = WORK_DEADLINE_SECONDS) -> None:
        self.runtime = runtime
        self.watchdog = Watchdog(deadline=deadline)
        self.done = 0
        self._changed = threading.Condition()

    def accept(self, context, body: dict, **data) -> None:
        """Called by an ack function that accepted the request: its work will run, with
        `data` (plain values) as `ticket["data"]`, and is watched from now on."""
        key = request_key(body)
        context[TICKET] = {"key": key, "data": data}
        self.watchdog.watch(key, body.get("response_url"))

    def lazy(self, do: Callable[..., None], *, claim: bool = True) -> Callable[..., None]:
        """`do(body=…, data=…, reply=…, client=…)` as a Bolt lazy function: skipped when
        the ack refused the request, done once per request (`claim`), errors answered
        to the user, and counted when finished."""

        def work(body: dict, context, client: WebClient) -> None:
            ticket = context.get(TICKET)
            reply = Reply(body.get("response_url") or context.get("response_url"))
            try:
                if ticket is None:
                    return
                # The claim is database work too: a database that does not answer gets
                # the same apology as any other failure of the work.
                with (
                    replying_to_errors(body, reply, client),
                    self.runtime.db.request_work(statement=WORK_STATEMENT_SECONDS),
                ):
                    if claim and not claim_request(self.runtime, body):
                        kind = body.get("type") or body.get("command")
                        log.info("ignoring a repeated %s", kind)
                        return
                    do(body=body, data=ticket["data"], reply=reply, client=client)
            finally:
                if ticket is not None:
                    self.watchdog.answered(ticket["key"])
                self._finished()

        # Bolt tells a listener's lazy functions apart by name.
        work.__name__ = work.__qualname__ = f"{do.__name__}_work"
        return work

    def _finished(self) -> None:
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


# How long a write on the ack path waits for a lock before giving up (Slack retries).
QUICK_LOCK_WAIT_MS = 1_000
# What the ack path may spend on the database in all (a reaction is stored before its
# 200; a modal's form is checked against the account): inside Slack's 3 seconds.
ACK_DB_SECONDS = 1.5


def ack_budget(runtime: Runtime):
    """Database work in the request thread, before Slack gets its answer (Bolt runs a
    listener after its middleware returns, so each ack function takes this itself)."""
    return runtime.db.within(statement=ACK_DB_SECONDS, total=ACK_DB_SECONDS)
