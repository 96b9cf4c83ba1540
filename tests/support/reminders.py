"""Reminder test helpers: a runtime against the Slack double, reps and accounts that are
due, and what was stored or posted."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time
from decimal import Decimal

from slack_sdk import WebClient
from sqlmodel import select

from bot.clock import fixed_clock
from bot.db import Database
from bot.delivery.reconcile import Backoff
from bot.reminders import Pacer
from bot.runtime import Runtime
from bot.settings import Settings
from bot.slack_client import make_web_client
from models import Account, ReminderMessage, ReminderRun, Rep
from tests.doubles.slack_double import SlackDouble
from tests.support import factories
from tests.support.factories import NOW

TOKEN = "xoxb-test"
SECRET = "secret"


def make_runtime(
    db: Database, double: SlackDouble | None = None, *, now: datetime = NOW, **overrides
) -> Runtime:
    """A runtime at `now` against the double. Its morning window runs to 23:59 unless a
    test sets `reminder_cutoff`: content, claims and faults are tested at any hour (NOW
    is 16:00 in Berlin), the window by the tests that set it (tests/delivery/test_calendar.py)."""
    overrides.setdefault("reminder_cutoff", time(23, 59))
    settings = Settings(
        _env_file=None,
        database_url=db.url,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=double.api_url if double else "http://127.0.0.1:9/api/",
        **overrides,
    )
    return Runtime(settings=settings, db=db, clock=fixed_clock(now))


def client_for(runtime: Runtime) -> WebClient:
    """The client delivery runs with: only 429s are retried by slack_sdk (a 5xx or a
    dropped connection may have posted; delivery reconciles those itself)."""
    return make_web_client(runtime.settings, only_rate_limits=True)


def fast_pacer() -> Pacer:
    """Pacing is the benchmark's business; unit tests should not wait for it."""
    return Pacer(10_000, channel_rate=10_000, channel_burst=100)


def linked_rep(session, user_id: str, *, tz: str = "Europe/Berlin", **fields) -> Rep:
    fields.setdefault("email", f"{user_id.lower()}@example.com")
    return factories.rep(session, slack_user_id=user_id, tz=tz, tz_synced_at=NOW, **fields)


def due_account(
    session, owner: Rep, name: str, *, value: float = 10_000, last_touch: str = "2026-04-01"
) -> Account:
    """A mid-tier account (30-day cadence) last touched on `last_touch`."""
    acct = factories.account(session, name, owner_id=owner.id, annual_value=Decimal(str(value)))
    factories.touch(session, acct, last_touch)
    return acct


def fresh_account(session, owner: Rep, name: str) -> Account:
    acct = factories.account(session, name, owner_id=owner.id)
    factories.touch(session, acct, "2026-06-12")
    return acct


def posts_by_slot(double: SlackDouble) -> Counter:
    """How often each (channel, run, position) was posted: exactly once is the promise."""
    return Counter(
        (
            params["channel"],
            params["metadata"]["event_payload"]["run_id"],
            params["metadata"]["event_payload"]["position"],
        )
        for params in double.calls_to("chat.postMessage")
        if params.get("metadata", {}).get("event_type") == "rebuy_reminder"
    )


def runs(db: Database) -> list[ReminderRun]:
    with db.session() as session:
        return list(session.exec(select(ReminderRun).order_by(ReminderRun.rep_id)))


def stored_messages(db: Database) -> list[ReminderMessage]:
    with db.session() as session:
        return list(
            session.exec(
                select(ReminderMessage).order_by(ReminderMessage.run_id, ReminderMessage.position)
            )
        )


MORNING = datetime(2026, 6, 15, 8, 0, tzinfo=UTC)  # Monday 10:00 in Berlin
FAST = Backoff((0.05, 0.1, 0.2, 0.4))


def two_reps(db: Database, users=("U1", "U2")) -> None:
    """Two linked reps with DM channels, each owning two due accounts."""
    with db.transaction() as session:
        for user in users:
            rep = linked_rep(session, user, dm_channel_id=f"D{user}")
            due_account(session, rep, f"{user} first", value=20_000)
            due_account(session, rep, f"{user} second")


def remind_env(db: Database, double: SlackDouble) -> dict[str, str]:
    """The environment `rebuy remind` is invoked with: `db`, the double, at MORNING."""
    return {
        "DATABASE_URL": db.url,
        "REBUY_NOW": MORNING.isoformat(),
        "SLACK_API_URL": double.api_url,
        "SLACK_BOT_TOKEN": TOKEN,
    }
