"""Small helpers the Slack handlers share: who is acting, reps from Slack users."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import sqlalchemy as sa
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.retention.actions import Actor, rep_for_slack_user, snooze_account
from bot.retention.reps import link_rep
from bot.retention.signals import day_label
from bot.retention.tactics import record_exposure
from bot.runtime import Runtime
from handlers import blocks
from models import Account, Rep

log = logging.getLogger(__name__)


def actor_for(runtime: Runtime, user_id: str | None) -> Actor:
    return Actor(slack_user_id=user_id, is_admin=user_id in runtime.settings.admin_user_ids)


# A Slack user who is not a rep (a manager, an admin) is asked about again after this long,
# so that /account does not call users.info on every command of theirs.
NOT_A_REP_FOR = timedelta(hours=1)


def rep_today(runtime: Runtime, rep: Rep | None) -> date:
    """Today for this rep, in their own Slack time zone."""
    return runtime.today_in(rep.tz if rep else None)


def user_today(runtime: Runtime, user_id: str | None) -> date:
    """Today for the Slack user acting (their rep's zone; UTC when not a rep)."""
    with runtime.db.session() as session:
        rep = rep_for_slack_user(session=session, slack_user_id=user_id)
        tz = rep.tz if rep else None
    return runtime.today_in(tz)


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
    not_reps = runtime.caches.setdefault("not_reps", {})
    asked = not_reps.get(user_id)
    if asked is not None and runtime.now() - asked < NOT_A_REP_FOR:
        return None
    try:
        user = client.users_info(user=user_id)["user"]
    except SlackApiError as error:
        log.warning("users.info failed for %s: %s", user_id, error.response.get("error"))
        return None
    email = (user.get("profile") or {}).get("email")
    if not email:
        not_reps[user_id] = runtime.now()
        return None
    with runtime.db.transaction() as session:
        rep = link_rep(
            session=session,
            email=email,
            slack_user_id=user_id,
            tz=user.get("tz"),
            name=user.get("real_name") or (user.get("profile") or {}).get("real_name"),
            now=runtime.now(),
        )
    if rep is None:
        not_reps[user_id] = runtime.now()
    return rep


def note_tactics_shown(runtime: Runtime, status) -> None:
    """Remember the card's tactics (so the next card rotates) in a short write of its own.
    Best effort: the rep still gets the card if this fails."""
    if not status.tactics:
        return
    try:
        with runtime.db.transaction() as session:
            record_exposure(
                session=session,
                account_id=status.id,
                tactic_ids=[pick.id for pick in status.tactics],
                now=runtime.now(),
                surface="card",
            )
    except sa.exc.SQLAlchemyError:
        log.warning("could not record the tactics shown for account %s", status.id, exc_info=True)


def snooze_and_confirm(
    runtime: Runtime, account_id: int, *, until: date, reason: str | None, user_id: str
) -> str:
    """Snooze the account as the acting user in a short write; the confirmation line."""
    with runtime.db.transaction() as session:
        snooze_account(
            session=session,
            account_id=account_id,
            until=until,
            now=runtime.now(),
            actor=actor_for(runtime, user_id),
            reason=reason,
        )
        name = session.get(Account, account_id).name
    return f"💤 *{blocks.escape(name)}* snoozed until {day_label(until)}."
