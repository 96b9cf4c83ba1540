"""Events API: reactions on reminder messages, recognising Slack's repeated deliveries,
and a 200 for every event type Rebuy does not use (App Home: `handlers.home`)."""

from __future__ import annotations

import logging
import re
from decimal import Decimal

from slack_bolt import Ack, App, BoltContext, BoltRequest, BoltResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.delivery.acknowledge import refresh_reminder_message
from bot.inbox import claim_event, event_seen
from bot.retention.reactions import apply_reaction
from bot.runtime import Runtime
from handlers.work import QUICK_LOCK_WAIT_MS, Job, Work, ack_budget, after_ack

log = logging.getLogger(__name__)
EVENTS = ("app_home_opened", "reaction_added", "reaction_removed")
ANY_OTHER_EVENT = re.compile(r".+")


def event_microseconds(event: dict, body: dict) -> int | None:
    """When Slack says the event happened (`event_ts`, else the envelope's
    `event_time`), in microseconds: the order reaction events are applied in."""
    try:
        if event.get("event_ts"):
            return int(Decimal(str(event["event_ts"])) * 1_000_000)
        return int(body["event_time"]) * 1_000_000
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return None


def drop_repeated_deliveries(request: BoltRequest, next, runtime: Runtime) -> BoltResponse | None:
    """Slack re-sends an event it thinks we missed (X-Slack-Retry-Num, same event_id).
    One already claimed is answered 200 at once and not processed again. The check only
    reads, so the acknowledgement never waits for SQLite's write lock; the listener's
    claim (`claim_event`) settles deliveries that arrive together."""
    body = request.body or {}
    event_id = body.get("event_id") if body.get("type") == "event_callback" else None
    if isinstance(event_id, str) and event_id:
        try:
            with ack_budget(runtime), runtime.db.session() as session:
                seen = event_seen(session=session, event_id=event_id)
        except SQLAlchemyError:
            seen = False  # the listener's claim decides (or fails and Slack retries)
        if seen:
            retry = request.headers.get("x-slack-retry-num", ["?"])[0]
            log.info("dropping repeated delivery of %s (retry %s)", event_id, retry)
            return BoltResponse(status=200, body="")
    return next()


def _store_reaction(runtime: Runtime, event: dict, body: dict):
    """Claim the delivery and apply the reaction in one short transaction; the outcome
    (None: a repeat, or not on a message)."""
    item = event.get("item") if isinstance(event.get("item"), dict) else {}
    on_a_message = item.get("type") == "message" and item.get("channel") and item.get("ts")
    with ack_budget(runtime), runtime.db.transaction(lock_wait_ms=QUICK_LOCK_WAIT_MS) as session:
        fresh = not body.get("event_id") or claim_event(
            session=session,
            event_id=str(body["event_id"]),
            event_type=str(event.get("type", "?")),
            now=runtime.now(),
        )
        if not (fresh and on_a_message):
            return None
        return apply_reaction(
            session=session,
            channel=str(item["channel"]),
            ts=str(item["ts"]),
            user=str(event.get("user") or ""),
            reaction=str(event.get("reaction") or ""),
            added=event.get("type") == "reaction_added",
            now=runtime.now(),
            event_us=event_microseconds(event, body),
        )


def record_reaction(
    ack: Ack, event: dict, body: dict, context: BoltContext, runtime: Runtime, work: Work
) -> BoltResponse | None:
    """Before Slack gets its answer: store the reaction. If that cannot be done now (e.g.
    SQLite's write lock is held by an import), answer 503 so that Slack delivers the
    event again: a 2xx would tell Slack it was stored and it would be lost."""
    try:
        outcome = _store_reaction(runtime, event, body)
    except SQLAlchemyError as error:
        log.warning(
            "could not store %s %s yet (%s); answering 503 so that Slack retries",
            event.get("type"),
            body.get("event_id"),
            type(error).__name__,
        )
        return BoltResponse(status=503, body="")
    if outcome is not None and outcome.changed:
        item = event["item"]
        work.accept(context, body, channel=str(item["channel"]), ts=str(item["ts"]))
    ack()
    return None


def acknowledge_reaction(job: Job) -> None:
    """After the answer: show the touch (or its removal) on the reminder message."""
    refresh_reminder_message(
        job.runtime, job.client, channel=job.data["channel"], ts=job.data["ts"]
    )


def ignore_other_events(ack: Ack, event: dict) -> None:
    """Without it Bolt answers 404 to an event type subscribed in the app's settings (or
    the manifest) that Rebuy does not use, and Slack counts the failures and can turn
    the subscription off; such an event is answered 200 and ignored."""
    log.info("ignoring a %.40s event (Rebuy does not use it)", event.get("type"))
    ack()


def register(app: App) -> None:
    """Register after every other event listener: the catch-all must come last."""
    app.middleware(drop_repeated_deliveries)
    for name in ("reaction_added", "reaction_removed"):
        app.event(name)(ack=record_reaction, lazy=[after_ack(acknowledge_reaction, claim=False)])
    app.event(ANY_OTHER_EVENT)(ignore_other_events)
