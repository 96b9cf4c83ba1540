"""Small helpers the Slack handlers share: who is acting, reps from Slack users."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.retention.actions import Actor, rep_for_slack_user
from bot.retention.reps import link_rep
from bot.runtime import Runtime
from models import Rep

log = logging.getLogger(__name__)


def actor_for(runtime: Runtime, user_id: str | None) -> Actor:
    return Actor(slack_user_id=user_id, is_admin=user_id in runtime.settings.admin_user_ids)


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
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as error:
        log.warning("users.info failed for %s: %s", user_id, error.response.get("error"))
        return None
    email = (user.get("profile") or {}).get("email")
    if not email:
        return None
    with runtime.db.transaction() as session:
        return link_rep(
            session=session,
            email=email,
            slack_user_id=user_id,
            tz=user.get("tz"),
            name=user.get("real_name") or (user.get("profile") or {}).get("real_name"),
            now=runtime.now(),
        )
