"""How numbers, dates and words read in every message: money, plurals, dates, the
article before a noun, streaks, and how much of a user's text is quoted back.

One implementation each: money and plurals come from `bot.retention.wording` and dates
from `bot.retention.dates` (the domain writes its own reasons with the same ones), so a
figure reads the same on the card, in a reminder, in the CLI and in a signal's reason.
"""

from __future__ import annotations

from bot.retention.dates import day_label, moment_label, near_day_label, span_label, weekday_label
from bot.retention.wording import money, plural

__all__ = [
    "day_label",
    "moment_label",
    "money",
    "near_day_label",
    "plural",
    "span_label",
    "streak_text",
    "weekday_label",
    "with_article",
]

# How much of a user's text a message quotes back (Slack's own limits are in `kit`).
QUERY_SHOWN = 100  # what the rep typed after `/account`
NAME_SHOWN = 100  # a contact's name or title on the card
NOTE_SHOWN = 200  # the last touch's note on the card
PLAN_SHOWN = 500  # each plan field on the card (the modal holds 1,000)
REASON_SHOWN = 160  # one signal's reason under a list line
DIGEST_NAME_SHOWN = 80  # an account name in the digest's "newly at risk"
SHOUT_OUT_NAME_SHOWN = 60  # an account name in a shout-out
ERROR_SHOWN = 150  # a modal field's error

KIND_EMOJI = {"call": "📞", "email": "✉️", "meeting": "🤝", "visit": "🚗", "note": "✅"}
BAND_EMOJI = {"healthy": "🟢", "watch": "🟡", "at risk": "🔴"}
OUTLOOK_EMOJI = {"likely": "🟢", "unsure": "🟡", "unlikely": "🔴"}


def with_article(word: str) -> str:
    """`a call`, `an email`, `a visit`: the article by the first letter (good enough
    for the words Rebuy puts after it)."""
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


def streak_text(days: int) -> str:
    """ "No streak yet", "1 working day in a row", "5 working days in a row"."""
    if days <= 0:
        return "No streak yet: log a touch today to start one"
    return f"{plural(days, 'working day')} in a row"


def percent(share: float) -> str:
    """ "87%" (coverage, win rates). Never "100%" short of all, nor "0%" above none: 199 of
    200 accounts covered is "99.5%", 1 of 1,000 is "0.1%"."""
    text = f"{share:.0%}"
    if (text == "100%" and share < 1) or (text == "0%" and share > 0):
        text = f"{share:.1%}"
        if text in ("100.0%", "0.0%"):
            return ">99.9%" if share < 1 and share > 0.5 else "<0.1%"
    return text
