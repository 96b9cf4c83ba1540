"""Block Kit for logging from `/account`: "what kind of touch was it?", a confirmation
with Undo, and a pick between two readings of the text."""

from __future__ import annotations

from datetime import date

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.messages.format import KIND_EMOJI, QUERY_SHOWN, near_day_label, with_article
from bot.messages.ids import Action, BlockId
from bot.messages.kit import button, context, cut, escape, message, section
from bot.messages.pick import compact, pending_label, pick_value, quoted

# The buttons of "what kind of touch was it?": (label, kind). "Other" is a note.
KIND_CHOICES = (("Call", "call"), ("Email", "email"), ("Meeting", "meeting"), ("Other", "note"))


def day_words(on: date | None, *, today: date) -> str:
    """ "today", "yesterday", "Tue 1 Dec", "3 Dec 2025"."""
    if on is None or on == today:
        return "today"
    if (today - on).days == 1:
        return f"yesterday ({near_day_label(on, today=today)})"
    return near_day_label(on, today=today)


def kind_question(
    *, account_id: int, name: str, on: date | None, today: date, note: str | None, query: str | None
) -> dict:
    """Buttons Call / Email / Meeting / Other, each logging the touch described."""
    when = "" if on is None or on == today else f" {day_words(on, today=today)}"
    text = f"What kind of touch was it on *{escape(name)}*{when}?"
    short = cut(query.strip(), QUERY_SHOWN) if query else None  # fits the button's check
    base = {"on": on.isoformat() if on else None, "note": note, "q": short}
    buttons = [
        button(
            f"{KIND_EMOJI[kind]} {label}",
            Action.LOG_KIND.numbered(index),
            pick_value(account_id, {"kind": kind, **base}),
        )
        for index, (label, kind) in enumerate(KIND_CHOICES)
    ]
    blocks: list[Block] = [
        section(text),
        ActionsBlock(block_id=BlockId.TOUCH_KIND, elements=buttons),
    ]
    return message(blocks, text, mrkdwn=True)


def logged_text(
    *, kind: str, name: str, on: date | None, today: date, query: str | None = None
) -> str:
    """ "📞 Logged a call on *Acme Corp*. The cadence restarts today." (or the day it
    happened, and the name typed when it was not the account's own)."""
    emoji = KIND_EMOJI.get(kind, "✅")
    guess = f", the closest match to {quoted(query)}" if query else ""
    head = f"{emoji} Logged {with_article(kind)} on *{escape(name)}*{guess}"
    if on is None or on == today:
        return f"{head}. The cadence restarts today."
    return f"{head}, for {day_words(on, today=today)}."


def with_undo(text: str, *, what: str, key: str | None) -> dict:
    """A confirmation; with `key`, an Undo button that takes back exactly that change."""
    if key is None:
        return message([section(text)], text, mrkdwn=True)
    undo = button("Undo", Action.UNDO, compact({"what": what, "key": key}))
    blocks: list[Block] = [
        section(text),
        ActionsBlock(block_id=BlockId.TOUCH_UNDO, elements=[undo]),
    ]
    return message(blocks, text, mrkdwn=True)


def _doing(pending: dict, name: str) -> str:
    """What the sub-command reading does, e.g. "log a call on Cabin Supplies"."""
    if pending.get("do") == "log":
        kind = pending.get("kind")
        return f"log {with_article(kind) if kind else 'a touch'} on {name}"
    if pending.get("do") == "snooze":
        return pending_label(pending).replace("snooze it", f"snooze {name}", 1)
    return f"open the plan of {name}"


def two_readings(
    text: str, *, name_id: int, name: str, action_id: int, action_name: str, pending: dict
) -> dict:
    """`/account log cabin supplies` with an account called "Log Cabin Supplies": show
    that account, or do the sub-command? The rep picks."""
    intro = f"{quoted(text)} reads two ways. Which did you mean?"
    doing = _doing(pending, action_name)
    show = button(f"Show {name}", Action.SHOW_ACCOUNT.numbered(name_id), str(name_id))
    act = button(
        doing[:1].upper() + doing[1:],
        Action.PICK_ACCOUNT.numbered(action_id),
        pick_value(action_id, pending),
    )
    blocks: list[Block] = [
        section(intro),
        ActionsBlock(block_id=BlockId.ACCOUNT_PICK, elements=[show, act]),
        context(f"Show the card of *{escape(name)}*, or {escape(doing)}."),
    ]
    return message(blocks, intro, mrkdwn=True)
