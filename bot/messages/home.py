"""The App Home tab: the streak, the accounts to touch under one heading each, and the
team leaderboard."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, DividerBlock
from slack_sdk.models.views import View

from bot.messages.book import entry_line
from bot.messages.format import plural, streak_text
from bot.messages.ids import Action
from bot.messages.kit import VIEW_BLOCKS, button, context, finish, header, section, user_ref
from bot.retention.results import BookEntry, BookSummary, LeaderboardRow

ENTRIES_SHOWN = 5  # per heading
MEDALS = ["🥇", "🥈", "🥉"]


def _streak_line(streak: int, summary: BookSummary | None) -> str:
    flame = "🔥" if streak >= 3 else "✨"
    # A zero streak is an invitation, never "Streak: 0 working days".
    if streak > 0:
        days = plural(streak, "working day").split(" ", 1)[1]
        streak_line = f"Streak: *{streak:,}* {days} in a row with a touch"
    else:
        streak_line = streak_text(streak)
    accounts = plural(summary.accounts if summary else 0, "account")
    return f"{flame} {streak_line} · {accounts} in your book"


def _part(title: str, entries: Sequence[BookEntry], empty: str) -> list[Block]:
    """One heading: its count and first few accounts, each with a Log button."""
    if not entries:
        return [DividerBlock(), section(f"*{title}*\n{empty}")]
    blocks: list[Block] = [DividerBlock(), section(f"*{title}* ({len(entries):,})")]
    for entry in entries[:ENTRIES_SHOWN]:
        log = button("Log a touch", Action.LOG_TOUCH, str(entry.facts.id))
        blocks.append(section(entry_line(entry), accessory=log))
    if len(entries) > ENTRIES_SHOWN:
        blocks.append(context(f"…and {len(entries) - ENTRIES_SHOWN:,} more"))
    return blocks


def _leaderboard(board: Sequence[LeaderboardRow]) -> Block:
    if not board:
        return section("*Team leaderboard*\nNo touches logged in the last 7 days.")
    lines = [
        f"{MEDALS[i] if i < len(MEDALS) else f'{i + 1}.'} "
        f"{user_ref(row.slack_user_id, row.rep_name or row.rep_email)}: "
        f"{plural(row.touches, 'touch', 'touches')} on {plural(row.accounts, 'account')}"
        for i, row in enumerate(board)
    ]
    return section("*Team leaderboard* (last 7 days)\n" + "\n".join(lines))


def home(
    *,
    rep_label: str,
    summary: BookSummary | None,
    due: Sequence[BookEntry],
    overdue: Sequence[BookEntry],
    dormant: Sequence[BookEntry],
    at_risk: Sequence[BookEntry],
    streak: int,
    board: Sequence[LeaderboardRow],
    unknown_rep: bool = False,
    away: Sequence[Block] = (),
) -> dict:
    blocks: list[Block] = [header(f"Rebuy · {rep_label}"), *away]
    if unknown_rep:
        blocks.append(
            section(
                "I don't know your accounts yet. Ask your sales-ops admin to import accounts with "
                "your e-mail as `owner_email`, then run `rebuy reps sync`."
            )
        )
    else:
        blocks.append(context(_streak_line(streak, summary)))
        # Most urgent heading first; each account is listed under one heading only.
        blocks += _part("At risk", at_risk, "No account is at risk.")
        blocks += _part("Dormant", dormant, "No other account has gone quiet for 6 months.")
        blocks += _part("Overdue", overdue, "Nothing else overdue. 🎉")
        blocks += _part("Due today", due, "Nothing else due today.")
    blocks += [DividerBlock(), _leaderboard(board)]
    return View(type="home", blocks=finish(blocks, limit=VIEW_BLOCKS)).to_dict()
