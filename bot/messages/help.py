"""`/account help`: what the command can do."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.messages.kit import context, message, section
from bot.messages.reminder import REACTION_HINT

HELP_LINES = [
    ("/account NAME", "status card: health, orders, touches, plan and tactics"),
    ("/account", "your book at a glance"),
    (
        "/account list [due|overdue|dormant|at-risk|declining|single-threaded|all]",
        "your accounts, filtered",
    ),
    (
        "/account log NAME [call|email|meeting|visit|other] [yesterday|2 days ago|Mon|3 Dec] "
        "[note…]",
        "log a touch (no kind: I ask)",
    ),
    ("/account snooze NAME 2w [reason…]", "push the next touch (1w, 2w, 10d, 1m or a date)"),
    ("/account plan NAME", "set the account plan"),
    ("/account cadence NAME 21", "days between touches for one account (`default`: the tier's)"),
    ("/account owner NAME rep@company.com", "hand the account to another rep"),
    (
        "/account away dec 24 to jan 2 [cover @ben]",
        "no reminders those days (`/account away` to see or end them)",
    ),
    ("/account holidays DE", "your public holidays (a country, or `US CA`; `default`)"),
    ("/account report", "who stopped buying, who buys less"),
    ("/account help", "this list"),
]


def help_message(intro: str | None = None) -> dict:
    lines = "\n".join(f"• `{usage}`: {what}" for usage, what in HELP_LINES)
    blocks: list[Block] = []
    if intro:
        blocks.append(section(intro))
    blocks.append(section(f"*What `/account` can do*\n{lines}"))
    blocks.append(
        context(
            "Add `share` at the end to post the answer in the channel. "
            "React to a reminder to log a touch: " + REACTION_HINT
        )
    )
    return message(blocks, intro or "How to use /account", mrkdwn=True)
