"""The App Home tab: built and published in the background when a rep opens it."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient

from bot.inbox import claim_event
from bot.messages.away import away_sections
from bot.messages.home import home as home_message
from bot.retention.rep_ops import home_content
from bot.runtime import Runtime
from handlers.common import current_rep
from handlers.work import ack_budget

log = logging.getLogger(__name__)
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

    def __deepcopy__(self, memo: dict) -> HomePublisher:
        return self  # one per app (Bolt copies a lazy listener's context)

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


def home_opened(
    event: dict, body: dict, client: WebClient, runtime: Runtime, homes: HomePublisher
) -> None:
    """`app_home_opened`: claim the delivery (a retry builds nothing), then build the
    Home in the background (Slack gets its answer at once)."""
    if event.get("tab", "home") != "home":
        return
    with ack_budget(runtime), runtime.db.transaction() as session:
        if body.get("event_id") and not claim_event(
            session=session,
            event_id=str(body["event_id"]),
            event_type=str(event.get("type", "?")),
            now=runtime.now(),
        ):
            return
    homes.request(client, event["user"])


def publish_home(runtime: Runtime, client: WebClient, user_id: str) -> None:
    """Build and publish one rep's App Home (only when they open it: views.publish is
    rate-limited per workspace)."""
    rep = current_rep(runtime=runtime, client=client, user_id=user_id)
    today = runtime.today_in(rep.tz if rep else None)
    with runtime.db.session() as session:
        content = home_content(
            session=session,
            rep=rep,
            now=runtime.now(),
            today=today,
            tier_cadence=runtime.tier_cadence,
            calendars=runtime.calendars,
            default_country=runtime.settings.holiday_country,
            default_subdivision=runtime.settings.holiday_subdivision,
        )
    client.views_publish(user_id=user_id, view=render_home(runtime, rep, content, today))


def render_home(runtime: Runtime, rep, content, today) -> dict:
    if rep is None:
        return home_message(
            rep_label="welcome",
            summary=None,
            due=[],
            overdue=[],
            dormant=[],
            at_risk=[],
            streak=0,
            board=content.board,
            unknown_rep=True,
        )
    sections = content.sections
    return home_message(
        rep_label=rep.name or rep.email,
        summary=content.summary,
        due=sections["due"],
        overdue=sections["overdue"],
        dormant=sections["dormant"],
        at_risk=sections["at-risk"],
        streak=content.streak,
        board=content.board,
        away=away_sections(
            content.away, today=today, calendar=runtime.calendars.of(rep.country, rep.subdivision)
        ),
    )


def register(app: App) -> None:
    app.event("app_home_opened")(home_opened)
