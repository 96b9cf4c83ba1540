"""The one way amounts and counts are written for people: "$4,800", "−$4,800", "1 day",
"2 days". The domain's own sentences (signal reasons, importer summaries) and every
message (`bot.messages.format`) use these; dates are in `bot.retention.dates`.

No database, no Slack: plain functions over plain values."""

from __future__ import annotations


def money(value: float | None) -> str:
    """ "$4,800", a credit as "−$4,800" (a real minus sign, before the dollar), "—"
    when unknown."""
    if value is None:
        return "—"
    whole = round(value)
    return f"−${-whole:,}" if whole < 0 else f"${whole:,}"


def plural(count: int, word: str, many: str | None = None) -> str:
    """ "1 account", "2 accounts", "0 days", "1,200 orders"; `many` for irregular words
    ("touch", "touches")."""
    return f"{count:,} {word if count == 1 else many or word + 's'}"
