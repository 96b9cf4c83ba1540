"""Small helpers the Slack handlers share: who is acting, reps from Slack users."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.retention.actions import Actor, rep_for_slack_user
from bot.retention.reps import link_rep
from bot.runtime import Runtime
from models import Rep

log = logging.getLogger(__name__)


def actor_for(runtime: Runtime, user_id: str | None) -> Actor:
    return Actor(slack_user_id=user_id, is_admin=user_id in runtime.settings.admin_user_ids)


def current_rep(
    *, session: Session, client: WebClient, user_id: str, runtime: Runtime
) -> Rep | None:
    """The Rep behind a Slack user; links them by e-mail on first sight (users.info)."""
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
    return link_rep(
        session=session,
        email=email,
        slack_user_id=user_id,
        tz=user.get("tz"),
        name=user.get("real_name") or (user.get("profile") or {}).get("real_name"),
        now=runtime.now(),
    )
