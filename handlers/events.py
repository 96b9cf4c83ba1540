"""Events API: App Home, reactions, and recognising Slack's repeated deliveries."""

from __future__ import annotations

import logging
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from slack_bolt import Ack, App, BoltContext, BoltRequest, BoltResponse
from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.messages import away as away_blocks
from bot.messages.home import home
from bot.retention import book as books
from bot.retention.book import leaderboard, working_day_streak
from bot.retention.calendar import away_with_covers
from bot.retention.reactions import apply_reaction
from bot.runtime import Runtime
from handlers.common import QUICK_LOCK_WAIT_MS, Work, ack_budget, current_rep
from handlers.reminders import refresh_reminder_message
from models import SlackEvent

log = logging.getLogger(__name__)
EVENTS = ("app_home_opened", "reaction_added", "reaction_removed")
ANY_OTHER_EVENT = re.compile(r".+")
# App Homes built at once, on their own small pool. A Home assesses the rep's whole book
# (CPU-bound Python) and then waits on views.publish; built on Bolt's listener threads,
# a burst of Homes and a slow Slack would occupy every thread and a slash command would
# miss its 3-second ack. Queued Homes are already acked; they appear a moment later, and
# a rep who opens Home again while theirs is queued gets that one build.
HOME_BUILDS_AT_ONCE = 2
# A Home's queries read a whole book; a stalled database must not hold a builder.
HOME_STATEMENT_SECONDS = 10.0


class HomePublisher:
    """Builds and publishes App Homes in the background, one pending build per user."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.pool = ThreadPoolExecutor(HOME_BUILDS_AT_ONCE, thread_name_prefix="rebuy-home")
        self._pending: set[str] = set()
        self._lock = threading.Lock()

    def request(self, client: WebClient, user_id: str) -> None:
        with self._lock:
            if user_id in self._pending:
                return
            self._pending.add(user_id)
        self.pool.submit(self._build, client, user_id)

    def _build(self, client: WebClient, user_id: str) -> None:
        with self._lock:
            self._pending.discard(user_id)
        try:
            with self.runtime.db.request_work(statement=HOME_STATEMENT_SECONDS):
                publish_home(self.runtime, client, user_id)
        except Exception:  # a Home that fails to refresh must not take the pool down
            log.exception("could not publish the App Home of %s", user_id)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def claim_event(session, runtime: Runtime, body: dict) -> bool:
    """Record an Events API delivery in `session` before handling it; False when its
    event_id was already claimed (a retry, possibly arriving while the first is still
    being handled)."""
    if not body.get("event_id"):
        return True
    try:
        with session.begin_nested():
            session.add(
                SlackEvent(
                    event_id=str(body["event_id"])[:64],
                    event_type=str((body.get("event") or {}).get("type", "?"))[:64],
                    received_at=runtime.now(),
                )
            )
    except IntegrityError:
        return False
    return True


def event_microseconds(event: dict, body: dict) -> int | None:
    """When Slack says the event happened (`event_ts`, else the envelope's
    `event_time`), in microseconds: the order reaction events are applied in."""
    try:
        if event.get("event_ts"):
            return int(Decimal(str(event["event_ts"])) * 1_000_000)
        return int(body["event_time"]) * 1_000_000
    except (KeyError, TypeError, ValueError, ArithmeticError):
        return None


def register(app: App, runtime: Runtime, work: Work) -> None:
    homes = HomePublisher(runtime)
    # `rebuy serve` (and the tests) shut it down with the app's listeners.
    runtime.caches["background"] = [*runtime.caches.get("background", []), homes]

    @app.middleware
    def drop_repeated_deliveries(request: BoltRequest, next) -> BoltResponse | None:
        """Slack re-sends an event it thinks we missed (X-Slack-Retry-Num, same event_id).
        One already claimed is answered 200 at once and not processed again. The check
        only reads, so the acknowledgement never waits for SQLite's write lock; the
        listener's claim (`claim_event`) settles deliveries that arrive together."""
        body = request.body or {}
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if isinstance(event_id, str) and event_id:
            try:
                with ack_budget(runtime), runtime.db.session() as session:
                    seen = session.get(SlackEvent, event_id[:64]) is not None
            except SQLAlchemyError:
                seen = False  # the listener's claim decides (or fails and Slack retries)
            if seen:
                retry = request.headers.get("x-slack-retry-num", ["?"])[0]
                log.info("dropping repeated delivery of %s (retry %s)", event_id, retry)
                return BoltResponse(status=200, body="")
        return next()

    @app.event("app_home_opened")
    def home_opened(event: dict, body: dict, client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        with ack_budget(runtime), runtime.db.transaction() as session:
            if not claim_event(session, runtime, body):
                return
        homes.request(client, event["user"])

    def record_reaction(
        ack: Ack, event: dict, body: dict, context: BoltContext
    ) -> BoltResponse | None:
        """Before Slack gets its answer: claim the delivery and apply the reaction in one
        short transaction. If that cannot be stored now (e.g. SQLite's write lock is
        held by an import), answer 503 so that Slack delivers the event again: a 2xx
        would tell Slack it was stored and it would be lost."""
        added = event.get("type") == "reaction_added"
        item = event.get("item") if isinstance(event.get("item"), dict) else {}
        on_a_message = item.get("type") == "message" and item.get("channel") and item.get("ts")
        outcome = None
        try:
            with (
                ack_budget(runtime),
                runtime.db.transaction(lock_wait_ms=QUICK_LOCK_WAIT_MS) as session,
            ):
                if claim_event(session, runtime, body) and on_a_message:
                    outcome = apply_reaction(
                        session=session,
                        channel=str(item["channel"]),
                        ts=str(item["ts"]),
                        user=str(event.get("user") or ""),
                        reaction=str(event.get("reaction") or ""),
                        added=added,
                        now=runtime.now(),
                        event_us=event_microseconds(event, body),
                    )
        except SQLAlchemyError as error:
            log.warning(
                "could not store %s %s yet (%s); answering 503 so that Slack retries",
                event.get("type"),
                body.get("event_id"),
                type(error).__name__,
            )
            return BoltResponse(status=503, body="")
        if outcome is not None and outcome.changed:
            work.accept(context, body, channel=str(item["channel"]), ts=str(item["ts"]))
        ack()
        return None

    def acknowledge_reaction(body: dict, data: dict, reply, client: WebClient) -> None:
        """After the answer: show the touch (or its removal) on the reminder message."""
        refresh_reminder_message(runtime, client, channel=data["channel"], ts=data["ts"])

    for name in ("reaction_added", "reaction_removed"):
        app.event(name)(ack=record_reaction, lazy=[work.lazy(acknowledge_reaction, claim=False)])

    # Registered last, so it only sees what no listener above took. Without it Bolt
    # answers 404 to an event type subscribed in the app's settings (or the manifest)
    # that Rebuy does not use, and Slack counts the failures and can turn the
    # subscription off; such an event is answered 200 and ignored.
    @app.event(ANY_OTHER_EVENT)
    def ignore_other_events(ack: Ack, event: dict) -> None:
        log.info("ignoring a %.40s event (Rebuy does not use it)", event.get("type"))
        ack()


def publish_home(runtime: Runtime, client: WebClient, user_id: str) -> None:
    """Build and publish one rep's App Home (only when they open it: views.publish is
    rate-limited per workspace)."""
    rep = current_rep(runtime=runtime, client=client, user_id=user_id)
    today = runtime.today_in(rep.tz if rep else None)
    with runtime.db.session() as session:
        board = leaderboard(session=session, now=runtime.now())
        if rep is None:
            view = home(
                rep_label="welcome",
                summary=None,
                due=[],
                overdue=[],
                dormant=[],
                at_risk=[],
                streak=0,
                board=board,
                unknown_rep=True,
            )
        else:
            entries = books.book_entries(
                session=session,
                owner_id=rep.id,
                as_of=today,
                tier_cadence=runtime.tier_cadence,
                calendars=runtime.calendars,
            )
            # Each account once, under its most urgent heading.
            sections = books.home_sections(entries)
            periods = away_with_covers(session=session, rep_id=rep.id, today=today)
            view = home(
                rep_label=rep.name or rep.email,
                summary=books.summarize(entries),
                due=sections["due"],
                overdue=sections["overdue"],
                dormant=sections["dormant"],
                at_risk=sections["at-risk"],
                streak=working_day_streak(
                    session=session,
                    rep=rep,
                    today=today,
                    default_country=runtime.settings.holiday_country,
                    default_subdivision=runtime.settings.holiday_subdivision,
                ),
                board=board,
                away=away_blocks.away_sections(
                    periods,
                    today=today,
                    calendar=runtime.calendars.of(rep.country, rep.subdivision),
                ),
            )
    client.views_publish(user_id=user_id, view=view)
