"""Reactions on reminder messages: ✅ 📞 ✉️ 🤝 log a touch, 💤 snoozes a week; removing
the reaction takes it back. Exactly once, by the database's unique keys, and one touch per
rep per account per (the rep's) day from reactions: ✅ then ✔️ is one touch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.retention.actions import (
    Actor,
    log_touch,
    rep_for_slack_user,
    snooze_account,
    undo_snooze,
    undo_touch,
)
from bot.retention.reps import valid_tz
from bot.retention.results import ReactionAck
from bot.retention.touch_kinds import touch_kind
from models import Account, ReactionState, ReminderMessage, ReminderRun, Snooze, Touch

# The Slack reactions that log a touch; the kind comes from the one table of touch
# words (`touch_kinds`). 💤 (`zzz`) snoozes a week instead.
TOUCH_REACTIONS = (
    "white_check_mark",
    "heavy_check_mark",
    "ballot_box_with_check",
    "phone",
    "telephone_receiver",
    "email",
    "envelope",
    "e-mail",
    "incoming_envelope",
    "handshake",
)
REACTION_KINDS: dict[str, str] = {
    **{name: touch_kind(name) or "note" for name in TOUCH_REACTIONS},
    "zzz": "snooze",
}
SNOOZE_DAYS = 7


@dataclass(frozen=True)
class ReactionOutcome:
    message: ReminderMessage
    account_name: str
    changed: bool  # False when this was a repeat (already logged / already undone)


def reminder_message_at(*, session: Session, channel: str, ts: str) -> ReminderMessage | None:
    """The reminder account message posted at (channel, ts), if it is one."""
    return session.exec(
        select(ReminderMessage).where(
            ReminderMessage.channel == channel,
            ReminderMessage.ts == ts,
            ReminderMessage.account_id.is_not(None),
        )
    ).first()


def _local_today(session: Session, slack_user_id: str, now: datetime) -> date:
    """Today in the reacting rep's own time zone (a week's snooze counts from there)."""
    rep = rep_for_slack_user(session=session, slack_user_id=slack_user_id)
    tz = valid_tz(rep.tz) if rep else None
    return now.astimezone(ZoneInfo(tz)).date() if tz else now.date()


def _reaction_touch_today(
    session: Session, account_id: int, user: str, now: datetime
) -> Touch | None:
    """The touch this rep already logged on the account by reacting, today in their zone."""
    rep = rep_for_slack_user(session=session, slack_user_id=user)
    tz = valid_tz(rep.tz) if rep else None
    zone = ZoneInfo(tz) if tz else UTC
    day = now.astimezone(zone).date()
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    statement = (
        select(Touch)
        .where(
            Touch.account_id == account_id,
            Touch.slack_user_id == user,
            Touch.source == "reaction",
            Touch.touched_at >= start,
            Touch.touched_at < start + timedelta(days=1),
        )
        .order_by(Touch.id)
    )
    return session.exec(statement).first()


def _other_touch_reaction(
    session: Session, message: ReminderMessage, user: str, removed: str
) -> str | None:
    """Another touch reaction by the rep still on the message, to carry the day's touch."""
    states = session.exec(
        select(ReactionState)
        .where(
            ReactionState.channel == message.channel,
            ReactionState.ts == message.ts,
            ReactionState.slack_user_id == user,
            ReactionState.present.is_(True),
        )
        .order_by(ReactionState.updated_at)
    )
    for state in states:
        kind = REACTION_KINDS.get(base_name(state.reaction))
        if state.reaction != removed and kind not in (None, "snooze"):
            return state.reaction
    return None


def base_name(reaction: str) -> str:
    """The emoji without its skin tone: Slack sends "handshake::skin-tone-2"."""
    return reaction.split("::")[0]


def _key(message: ReminderMessage, user: str, reaction: str) -> str:
    return f"reaction:{message.channel}:{message.ts}:{user}:{reaction}"


def _is_recipient(session: Session, message: ReminderMessage, user: str) -> bool:
    """Only the rep the reminder was sent to acts on it by reacting."""
    rep = rep_for_slack_user(session=session, slack_user_id=user)
    run = session.get(ReminderRun, message.run_id)
    return rep is not None and run is not None and run.rep_id == rep.id


def _newest(
    session: Session,
    message: ReminderMessage,
    user: str,
    reaction: str,
    *,
    added: bool,
    event_us: int,
    now: datetime,
) -> bool:
    """Record this event as the newest for (message, user, reaction); False when a newer
    one (or this one) was applied already. A removal leaves a tombstone, so its
    reaction_added arriving later changes nothing."""
    key = dict(channel=message.channel, ts=message.ts, slack_user_id=user, reaction=reaction)

    def current() -> ReactionState | None:
        statement = select(ReactionState).filter_by(**key).with_for_update()
        return session.exec(statement).first()

    state = current()
    if state is None:
        try:
            with session.begin_nested():
                session.add(ReactionState(**key, event_us=event_us, present=added, updated_at=now))
            return True
        except IntegrityError:  # another delivery for the same reaction got there first
            state = current()
    if state is None or state.event_us >= event_us:
        return False
    state.event_us, state.present, state.updated_at = event_us, added, now
    session.add(state)
    session.flush()
    return True


def apply_reaction(
    *,
    session: Session,
    channel: str,
    ts: str,
    user: str,
    reaction: str,
    added: bool,
    now: datetime,
    event_us: int | None = None,
) -> ReactionOutcome | None:
    """Log (or take back) what a reaction on a reminder means. None when the reaction,
    the message or the user is not one Rebuy acts on (only the reminder's rep counts).

    `event_us` is when Slack says the event happened: events arrive in any order, and
    one older than what was applied for the same reaction changes nothing."""
    # Each skin tone is a reaction of its own on the message (🤝 and 🤝🏽 can both be
    # there), so state and keys use the full name and only the kind uses the base.
    kind = REACTION_KINDS.get(base_name(reaction))
    if kind is None:
        return None
    message = reminder_message_at(session=session, channel=channel, ts=ts)
    if message is None:
        return None
    account = session.get(Account, message.account_id)
    if account is None or not _is_recipient(session, message, user):
        return None
    # Without a time (not from Slack) the reaction applies as it comes.
    if event_us is not None and not _newest(
        session, message, user, reaction, added=added, event_us=event_us, now=now
    ):
        return ReactionOutcome(message=message, account_name=account.name, changed=False)
    # One touch per rep, account and day from reactions: a second reaction adds none (a
    # call, email or meeting makes a plain ✅ touch more precise), and removing the
    # reaction that logged it hands the touch to one still on the message, if any.
    key = _key(message, user, reaction)
    actor = Actor(slack_user_id=user)
    if kind == "snooze":
        if added:
            changed = (
                snooze_account(
                    session=session,
                    account_id=account.id,
                    until=_local_today(session, user, now) + timedelta(days=SNOOZE_DAYS),
                    now=now,
                    actor=actor,
                    reason="Snoozed from a reminder",
                    dedupe_key=key,
                )
                is not None
            )
        else:
            changed = undo_snooze(session=session, dedupe_key=key) is not None
    elif added:
        today = _reaction_touch_today(session, account.id, user, now)
        if today is not None:
            changed = today.kind == "note" and kind != "note"
            if changed:
                today.kind = kind
                session.add(today)
                session.flush()
        else:
            changed = _log(session, account.id, kind, now, actor, message, key) is not None
    else:
        changed = undo_touch(session=session, dedupe_key=key, now=now) is not None
        other = _other_touch_reaction(session, message, user, reaction) if changed else None
        if other is not None and _reaction_touch_today(session, account.id, user, now) is None:
            other_key = _key(message, user, other)
            _log(
                session,
                account.id,
                REACTION_KINDS[base_name(other)],
                now,
                actor,
                message,
                other_key,
            )
    return ReactionOutcome(message=message, account_name=account.name, changed=changed)


def _log(session, account_id, kind, now, actor, message, key) -> Touch | None:
    return log_touch(
        session=session,
        account_id=account_id,
        kind=kind,
        now=now,
        actor=actor,
        source="reaction",
        tactic_id=message.tactic_id,
        dedupe_key=key,
    )


def button_key(channel: str, ts: str, view_id: str) -> str:
    """The key of a touch or snooze logged through a form opened from a reminder's button:
    the reminder's acknowledgements find it, and a form submitted twice logs once."""
    return f"button:{channel}:{ts}:{view_id}"


def acknowledgements(*, session: Session, message: ReminderMessage) -> list[ReactionAck]:
    """Each touch, then each snooze, currently logged on `message` (by reacting to it or
    through the forms of its buttons), oldest first, as plain values
    (`bot.messages.reminder.acknowledgement` writes the line)."""
    prefixes = [f"{source}:{message.channel}:{message.ts}:" for source in ("reaction", "button")]
    touches = session.exec(
        select(Touch)
        .where(sa.or_(*(Touch.dedupe_key.startswith(prefix) for prefix in prefixes)))
        .order_by(Touch.id)
    )
    acks = [ReactionAck(kind=touch.kind, slack_user_id=touch.slack_user_id) for touch in touches]
    snoozes = session.exec(
        select(Snooze)
        .where(sa.or_(*(Snooze.dedupe_key.startswith(prefix) for prefix in prefixes)))
        .order_by(Snooze.id)
    )
    acks += [
        ReactionAck(kind="snooze", slack_user_id=snooze.slack_user_id, until=snooze.until)
        for snooze in snoozes
    ]
    return acks
