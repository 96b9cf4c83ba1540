"""Workspace members from users.list: their e-mails, time zones and Slack statuses."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import sqlalchemy as sa
from slack_sdk import WebClient

from bot.clock import as_utc
from bot.retention.away_status import status_from_profile
from bot.retention.reps import SlackUser, store_statuses
from bot.runtime import Runtime
from models import Rep

log = logging.getLogger(__name__)


def slack_users(client: WebClient, *, page_size: int = 200) -> list[SlackUser]:
    """Every human member of the workspace (users.list, paginated)."""
    users = []
    for page in client.users_list(limit=page_size):
        for member in page.get("members") or []:
            if member.get("is_bot") or member.get("id") == "USLACKBOT":
                continue
            profile = member.get("profile") or {}
            users.append(
                SlackUser(
                    id=member["id"],
                    email=profile.get("email"),
                    tz=member.get("tz"),
                    name=member.get("real_name") or profile.get("real_name"),
                    deleted=bool(member.get("deleted")),
                    status=status_from_profile(profile),
                )
            )
    return users


# A sweep with reps to remind reads statuses again when the last read is older than this
# (one users.list, paginated: Tier 2, a few calls a morning per time zone).
STATUS_FRESH_FOR = timedelta(minutes=30)


def refresh_statuses(runtime: Runtime, client: WebClient) -> bool:
    """Read reps' Slack statuses (users.list) unless read within STATUS_FRESH_FOR.
    Best effort: on failure the statuses last read are used, and reminders go out."""
    now = runtime.now()
    with runtime.db.session() as session:
        last = session.execute(sa.select(sa.func.max(Rep.status_checked_at))).scalar_one_or_none()
    if isinstance(last, str):
        last = datetime.fromisoformat(last)
    last = as_utc(last)
    if last is not None and now - last < STATUS_FRESH_FOR:
        return False
    try:
        users = slack_users(client)
        with runtime.db.transaction() as session:
            store_statuses(session=session, users=users, now=now)
    except Exception as error:  # stale statuses are better than no reminders
        log.warning("could not read Slack statuses from users.list: %s", error)
        return False
    return True
