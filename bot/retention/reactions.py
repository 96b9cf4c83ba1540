"""Reactions on reminder messages: ✅ 📞 ✉️ 🤝 log a touch, 💤 snoozes a week; removing
the reaction takes it back. Exactly once, by the database's unique keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

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
from models import Account, ReactionState, ReminderMessage, ReminderRun, Snooze, Touch

# Slack reaction name -> touch kind ("snooze" snoozes a week instead).
REACTION_KINDS = {
    "white_check_mark": "note",
    "heavy_check_mark": "note",
    "ballot_box_with_check": "note",
    "phone": "call",
    "telephone_receiver": "call",
    "email": "email",
    "envelope": "email",
    "e-mail": "email",
    "incoming_envelope": "email",
    "handshake": "meeting",
    "zzz": "snooze",
}
SNOOZE_DAYS = 7
KIND_WORDS = {"note": "Touch", "call": "Call", "email": "Email", "meeting": "Meeting"}
KIND_EMOJI = {"note": "✅", "call": "📞", "email": "✉️", "meeting": "🤝", "snooze": "💤"}


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
    base = reaction.split("::")[0]  # skin tones arrive as "handshake::skin-tone-2"
    kind = REACTION_KINDS.get(base)
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
        session, message, user, base, added=added, event_us=event_us, now=now
    ):
        return ReactionOutcome(message=message, account_name=account.name, changed=False)
    # One touch per reaction: ✅ and ✔️ both added are two, and removing one takes back
    # only its own touch.
    key = _key(message, user, base)
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
        changed = (
            log_touch(
                session=session,
                account_id=account.id,
                kind=kind,
                now=now,
                actor=actor,
                source="reaction",
                tactic_id=message.tactic_id,
                dedupe_key=key,
            )
            is not None
        )
    else:
        changed = undo_touch(session=session, dedupe_key=key, now=now) is not None
    return ReactionOutcome(message=message, account_name=account.name, changed=changed)


def acknowledgements(*, session: Session, message: ReminderMessage) -> list[str]:
    """One line per touch or snooze currently logged from reactions on `message`, as
    mrkdwn (Slack user mentions are safe: they are ids Slack gave us)."""
    prefix = f"reaction:{message.channel}:{message.ts}:"
    lines = []
    touches = session.exec(
        select(Touch).where(Touch.dedupe_key.startswith(prefix)).order_by(Touch.id)
    )
    for touch in touches:
        lines.append(
            f"{KIND_EMOJI.get(touch.kind, '✅')} {KIND_WORDS.get(touch.kind, 'Touch')} "
            f"logged by <@{touch.slack_user_id}>"
        )
    snoozes = session.exec(
        select(Snooze).where(Snooze.dedupe_key.startswith(prefix)).order_by(Snooze.id)
    )
    for snooze in snoozes:
        lines.append(
            f"💤 Snoozed until {snooze.until.day} {snooze.until:%b} by <@{snooze.slack_user_id}>"
        )
    return lines
