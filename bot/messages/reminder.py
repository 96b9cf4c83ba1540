"""The morning reminder: the greeting, one message per account due, "all caught up",
and the lines that acknowledge a touch or snooze logged by reacting to a reminder."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from datetime import time as clock_time

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.messages.format import KIND_EMOJI, day_label, money, plural
from bot.messages.ids import Action, BlockId
from bot.messages.kit import (
    button,
    context,
    escape,
    fallback_mrkdwn,
    finish,
    message,
    section,
    user_ref,
)
from bot.retention.dates import NOON
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


def greeting(rep_name: str | None, at: clock_time | None) -> str:
    """ "Good morning, Ana!" before noon, "Good afternoon, Ana!" after (a late REMINDER_CUTOFF
    can reach past noon), "Hello, Ana!" when the hour is unknown."""
    first = (rep_name or "").split()
    who = f", {escape(first[0])}" if first else ""
    if at is None:
        return f"Hello{who}!"
    return f"Good {'morning' if at < NOON else 'afternoon'}{who}!"


def reminder_header(
    *,
    count: int,
    more: int,
    hello: str,
    away: tuple[date, date] | None = None,
    covering: Sequence[str] = (),
    more_covered: bool = False,
) -> dict:
    """The day's first message: how many accounts need the rep (and how many more are
    due: `more_covered` when colleagues' accounts are among them), the first morning back
    after `away` (its first and last day), and the colleagues whose accounts in it are
    marked (`covering`, their names)."""
    needs = "accounts need" if count != 1 else "account needs"
    extra = f" ({more:,} more due: `/account list due`)" if more else ""
    if more and more_covered:  # the list shows the rep's own book, not the colleague's
        extra = f" ({more:,} more due, yours and theirs: `/account list due` lists yours)"
    if away is not None:
        span = f"{day_label(away[0], year=False)} to {day_label(away[1], year=False)}"
        lead = f"{hello} Welcome back. While you were away ({span}), these came due:"
        text = f"{lead} {count:,} {needs} you first{extra}."
    else:
        text = f"{hello} {count:,} {needs} you today{extra}."
    lines = [section(text)]
    if covering:
        names = ", ".join(escape(name) for name in covering)
        lines.append(context(f"🤝 Covering for {names} while away: their accounts are marked."))
    lines.append(context(REACTION_HINT))
    return {"blocks": finish(lines), "text": fallback_mrkdwn(text)}


def all_caught_up(hello: str) -> dict:
    """A Monday with nothing due: one short line, so the rep knows Rebuy is there."""
    text = f"{hello} All caught up: nothing is due today. ☕"
    return {"blocks": finish([section(text)]), "text": fallback_mrkdwn(text)}


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
