"""Events API: App Home, reactions, and recognising Slack's repeated deliveries."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk import WebClient
from sqlalchemy.exc import IntegrityError

from bot.retention import book as books
from bot.retention.book import leaderboard, working_day_streak
from bot.runtime import Runtime
from handlers import blocks
from handlers.common import current_rep
from handlers.reminders import handle_reaction
from models import SlackEvent

log = logging.getLogger(__name__)
EVENTS = ("app_home_opened", "reaction_added", "reaction_removed")
# App Homes built at once, on their own small pool. A Home assesses the rep's whole book
# (CPU-bound Python) and then waits on views.publish; built on Bolt's listener threads,
# a burst of Homes and a slow Slack would occupy every thread and a slash command would
# miss its 3-second ack. Queued Homes are already acked; they appear a moment later, and
# a rep who opens Home again while theirs is queued gets that one build.
HOME_BUILDS_AT_ONCE = 2


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
            publish_home(self.runtime, client, user_id)
        except Exception:  # a Home that fails to refresh must not take the pool down
            log.exception("could not publish the App Home of %s", user_id)

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def claim_event(runtime: Runtime, body: dict) -> bool:
    """Record an Events API delivery before handling it; False when its event_id was
    already claimed (a retry, possibly arriving while the first is still being handled)."""
    if not body.get("event_id"):
        return True
    try:
        with runtime.db.transaction() as session:
            session.add(
                SlackEvent(
                    event_id=body["event_id"],
                    event_type=(body.get("event") or {}).get("type", "?")[:64],
                    received_at=runtime.now(),
                )
            )
    except IntegrityError:
        return False
    return True


def register(app: App, runtime: Runtime) -> None:
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
        if event_id:
            with runtime.db.session() as session:
                if session.get(SlackEvent, event_id) is not None:
                    retry = request.headers.get("x-slack-retry-num", ["?"])[0]
                    log.info("dropping repeated delivery of %s (retry %s)", event_id, retry)
                    return BoltResponse(status=200, body="")
        return next()

    @app.event("app_home_opened")
    def home_opened(event: dict, body: dict, client: WebClient) -> None:
        if event.get("tab", "home") != "home" or not claim_event(runtime, body):
            return
        homes.request(client, event["user"])

    @app.event("reaction_added")
    def reaction_added(event: dict, body: dict, client: WebClient) -> None:
        if claim_event(runtime, body):
            handle_reaction(runtime, client, event, added=True)

    @app.event("reaction_removed")
    def reaction_removed(event: dict, body: dict, client: WebClient) -> None:
        if claim_event(runtime, body):
            handle_reaction(runtime, client, event, added=False)


def publish_home(runtime: Runtime, client: WebClient, user_id: str) -> None:
    """Build and publish one rep's App Home (only when they open it: views.publish is
    rate-limited per workspace)."""
    rep = current_rep(runtime=runtime, client=client, user_id=user_id)
    today = runtime.today_in(rep.tz if rep else None)
    with runtime.db.session() as session:
        board = leaderboard(session=session, now=runtime.now())
        if rep is None:
            view = blocks.home(
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
            )
            due = [e for e in books.filtered(entries, "due") if not e.schedule.days_overdue]
            view = blocks.home(
                rep_label=rep.name or rep.email,
                summary=books.summarize(entries),
                due=due,
                overdue=books.filtered(entries, "overdue"),
                dormant=books.filtered(entries, "dormant"),
                at_risk=books.filtered(entries, "at-risk"),
                streak=working_day_streak(session=session, rep=rep, today=today),
                board=board,
            )
    client.views_publish(user_id=user_id, view=view)
