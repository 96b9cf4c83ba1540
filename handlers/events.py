"""Events API: App Home, reactions, and recognising Slack's repeated deliveries."""

from __future__ import annotations

import logging

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


def remember_event(runtime: Runtime, body: dict) -> None:
    """Mark an Events API delivery as handled so a retry of it is dropped."""
    event_id = body.get("event_id")
    if not event_id:
        return
    try:
        with runtime.db.transaction() as session:
            session.add(
                SlackEvent(
                    event_id=event_id,
                    event_type=(body.get("event") or {}).get("type", "?")[:64],
                    received_at=runtime.now(),
                )
            )
    except IntegrityError:
        pass  # a concurrent delivery of the same event got there first


def register(app: App, runtime: Runtime) -> None:
    @app.middleware
    def drop_handled_retries(request: BoltRequest, next) -> BoltResponse | None:
        """Slack re-sends an event it thinks we missed (X-Slack-Retry-Num, same event_id).
        One we already handled is answered 200 and not processed again; the touch itself
        is exactly-once by database constraint either way."""
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
        if event.get("tab", "home") != "home":
            return
        publish_home(runtime, client, event["user"])
        remember_event(runtime, body)

    @app.event("reaction_added")
    def reaction_added(event: dict, body: dict, client: WebClient) -> None:
        handle_reaction(runtime, client, event, added=True)
        remember_event(runtime, body)

    @app.event("reaction_removed")
    def reaction_removed(event: dict, body: dict, client: WebClient) -> None:
        handle_reaction(runtime, client, event, added=False)
        remember_event(runtime, body)


def publish_home(runtime: Runtime, client: WebClient, user_id: str) -> None:
    """Build and publish one rep's App Home (only when they open it: views.publish is
    rate-limited per workspace)."""
    with runtime.db.transaction() as session:
        rep = current_rep(session=session, client=client, user_id=user_id, runtime=runtime)
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
                as_of=runtime.today(),
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
                streak=working_day_streak(session=session, rep=rep, today=runtime.today()),
                board=board,
            )
    client.views_publish(user_id=user_id, view=view)
