"""The rep's book (`/account`) and its filtered lists (`/account list WHICH`)."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, SectionBlock

from bot.messages.format import BAND_EMOJI, OUTLOOK_EMOJI, REASON_SHOWN, day_label, plural
from bot.messages.kit import context, cut, escape, header, md, message, section
from bot.retention.results import AT_RISK_BELOW, LIST_FILTERS, BookEntry, BookSummary

LIST_SHOWN = 15
LINES_PER_SECTION = 5
# The lists an account leaves once it is touched.
TOUCH_CLEARS = ("due", "overdue")

# What an empty list says, per filter (see bot.retention.results.LIST_FILTERS).
EMPTY_LISTS = {
    "due": "Nothing is due today or overdue. 🎉",
    "overdue": "Nothing is overdue. 🎉",
    "dormant": "Every account has ordered in the last 6 months. 🎉",
    "at-risk": f"Nothing is at risk right now (health under {AT_RISK_BELOW}). 🎉",
    "declining": "No account is buying far less than before. 🎉",
    "single-threaded": "Every account has at least two contacts. 🎉",
    "all": "You have no accounts yet.",
}


def entry_line(entry: BookEntry) -> str:
    """One account in a list or on the Home tab: health, when it is due, its top reason
    and the re-buy outlook."""
    facts, schedule = entry.facts, entry.schedule
    if schedule.days_overdue:
        when = f"{plural(schedule.days_overdue, 'working day')} overdue"
    elif entry.due:
        when = "due today"
    else:
        when = f"next {day_label(schedule.next_touch_due, year=False)}"
    top = max(entry.signals, key=lambda s: s.penalty).reason if entry.signals else "all good"
    chance = ""
    if entry.outlook is not None and "down to" not in top:  # unless likely_lapsing says it
        chance = f"\n      {OUTLOOK_EMOJI[entry.outlook.band]} {escape(entry.outlook.line())}"
    return (
        f"{BAND_EMOJI[entry.health.band]} *{escape(facts.name)}* · {when} · health "
        f"{entry.health.score}\n      _{escape(cut(top, REASON_SHOWN))}_{chance}"
    )


def book(summary: BookSummary, top: Sequence[BookEntry], *, rep_label: str) -> dict:
    blocks: list[Block] = [
        header(f"Your book: {plural(summary.accounts, 'account')}"),
        SectionBlock(
            fields=[
                md(f"*Due today*\n{summary.due_today:,}"),
                md(f"*Overdue*\n{summary.overdue:,}"),
                md(f"*Dormant (6m+)*\n{summary.dormant:,}"),
                md(f"*At risk*\n{summary.at_risk:,}"),
                md(f"*Declining*\n{summary.declining:,}"),
                md(f"*Single-threaded*\n{summary.single_threaded:,}"),
            ]
        ),
    ]
    if top:
        lines = [entry_line(entry) for entry in top]
        blocks.append(section("*Contact these first*\n" + "\n".join(lines)))
    else:
        blocks.append(section("Nothing due. Nice work: every account is within its cadence."))
    blocks.append(
        context(
            "`/account list overdue` · `/account list dormant` · "
            "`/account list at-risk` · `/account NAME` for one account"
        )
    )
    text = f"{rep_label}: {plural(summary.accounts, 'account')}, {summary.overdue:,} overdue"
    return message(blocks, text)


def account_list(which: str, entries: Sequence[BookEntry], *, limit: int = LIST_SHOWN) -> dict:
    title = f"{which.replace('-', ' ').capitalize()}: {plural(len(entries), 'account')}"
    if not entries:
        body = EMPTY_LISTS.get(which, "Nothing here right now. 🎉")
        return message([section(f"*{title}*\n{body}")], title)
    lines = [entry_line(entry) for entry in entries]
    blocks: list[Block] = [header(title), context(f"_{LIST_FILTERS[which]}_, most pressing first")]
    for start in range(0, min(len(lines), limit), LINES_PER_SECTION):
        blocks.append(section("\n".join(lines[start : min(start + LINES_PER_SECTION, limit)])))
    if len(entries) > limit:
        # Only a touch takes an account off the due lists: a dormant, declining or
        # single-threaded one stays on its list however often it is touched.
        moves = ", and the rest move up as you touch these" if which in TOUCH_CLEARS else ""
        blocks.append(
            context(
                f"…and {len(entries) - limit:,} more, not shown here: the most pressing "
                f"come first{moves}."
            )
        )
    return message(blocks, title)
