"""The morning reminder: the greeting, one message per account due, "all caught up",
and the lines that acknowledge a touch or snooze logged by reacting to a reminder."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.messages.format import KIND_EMOJI, day_label, money, plural
from bot.messages.ids import Action, BlockId
from bot.messages.kit import button, context, escape, message, section, user_ref
from bot.retention.results import DueAccount, ReactionAck

REACTION_HINT = "React ✅ touched · 📞 call · ✉️ email · 🤝 meeting · 💤 snooze a week"
WHY_SHOWN = 3
# What a reaction or a reminder's form logged, in the reminder's acknowledgement line.
ACK_WORDS = {
    "note": "Touch",
    "call": "Call",
    "email": "Email",
    "meeting": "Meeting",
    "visit": "Visit",
}
ACK_EMOJI = {**KIND_EMOJI, "snooze": "💤"}


def good_morning(rep_name: str | None) -> str:
    """ "Good morning, Ana!" (just "Good morning!" when we don't know a first name)."""
    first = (rep_name or "").split()
    return f"Good morning, {escape(first[0])}!" if first else "Good morning!"


def reminder_header(*, count: int, more: int, rep_name: str | None) -> dict:
    greeting = good_morning(rep_name)
    needs = "accounts need" if count != 1 else "account needs"
    extra = f" ({more:,} more due: `/account list due`)" if more else ""
    text = f"{greeting} {count:,} {needs} you today{extra}."
    return message([section(text), context(REACTION_HINT)], text, mrkdwn=True)


def all_caught_up(*, rep_name: str | None) -> dict:
    text = f"{good_morning(rep_name)} All caught up: nothing is due today. ☕"
    return message([section(text)], text, mrkdwn=True)


def reminder_account(item: DueAccount, *, acknowledgements: Sequence[str] = ()) -> dict:
    facts, schedule = item.facts, item.schedule
    when = (
        f"{plural(schedule.days_overdue, 'working day')} overdue"
        if schedule.days_overdue
        else "due today"
    )
    # The CRM's yearly figure, else what they actually spent: never last year's spend
    # called "a year" next to "96 % down".
    if facts.annual_value:
        value = f" · {money(facts.annual_value)} a year"
    elif facts.value_last_12m > 0:
        value = f" · {money(facts.value_last_12m)} in the last 12 months"
    else:
        value = ""
    why = "\n".join(f"• {escape(reason)}" for reason in item.why[:WHY_SHOWN])
    blocks: list[Block] = [section(f"*{escape(facts.name)}* · {when}{value}\n{why}")]
    if item.tactic:
        blocks.append(
            section(f"💡 *{escape(item.tactic.tactic.title)}*: {escape(item.tactic.why)}")
        )
    value_id = str(facts.id)
    blocks.append(
        ActionsBlock(
            block_id=BlockId.REMINDER_ACTIONS.of(value_id),
            elements=[
                button("Log a touch", Action.LOG_TOUCH, value_id, style="primary"),
                button("Snooze", Action.SNOOZE, value_id),
                button("Details", Action.SHOW_ACCOUNT, value_id),
            ],
        )
    )
    for line in acknowledgements:
        blocks.append(context(line))
    text = f"{facts.name}: {when}. {item.why[0] if item.why else ''}"
    return message(blocks, text)


def acknowledgement(ack: ReactionAck) -> str:
    """ "📞 Call logged by @ana", "💤 Snoozed until 9 Dec by @ana" (mrkdwn)."""
    who = user_ref(ack.slack_user_id)
    if ack.kind == "snooze":
        until = day_label(ack.until, year=False) if ack.until else "later"
        return f"{ACK_EMOJI['snooze']} Snoozed until {until} by {who}"
    return f"{ACK_EMOJI.get(ack.kind, '✅')} {ACK_WORDS.get(ack.kind, 'Touch')} logged by {who}"
