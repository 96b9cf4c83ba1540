"""Reps and their Slack users and time zones (`rebuy reps sync`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from slack_sdk import WebClient

from bot.clock import as_utc
from bot.delivery.remind import require_token
from bot.delivery.slack_users import slack_users
from bot.retention.reps import store_statuses, sync_reps_from
from bot.runtime import Runtime
from bot.slack_client import make_web_client
from models import Rep

log = logging.getLogger(__name__)


def sync_reps(runtime: Runtime, client: WebClient | None = None) -> str:
    """`rebuy reps sync`: link reps to Slack users by e-mail and refresh their time zones."""
    if client is None:
        require_token(runtime, "`rebuy reps sync` reads the workspace's users as the bot.")
        client = make_web_client(runtime.settings)
    users = slack_users(client)
    with runtime.db.transaction() as session:
        result = sync_reps_from(session=session, users=users, now=runtime.now())
        store_statuses(session=session, users=users, now=runtime.now())
    return str(result)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def reps_synced_at(runtime: Runtime) -> datetime | None:
    """When time zones were last refreshed for every linked rep (the oldest sync among
    them: linking one new user through /account must not postpone everyone's refresh)."""
    with runtime.db.session() as session:
        value = session.execute(
            sa.select(sa.func.min(sa.func.coalesce(Rep.tz_synced_at, EPOCH))).where(
                Rep.active.is_(True), Rep.slack_user_id.is_not(None)
            )
        ).scalar_one_or_none()
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return as_utc(value)
