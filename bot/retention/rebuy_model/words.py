"""The re-buy model in a rep's words: rounding, bands, percentages, orders, money.

    "Chance of an order in the next 90 days: 20 % (less than one order expected)"

Chances are rounded to 5 % and banded on that rounded figure: likely (>= 60 %), unsure,
unlikely (< 25 %). A chance that rounds to 0 % or 100 % is never printed as such: "under
1 %" (or the whole percent, 1-2 %), "over 95 %".
"""

from __future__ import annotations

import math
from datetime import date

from bot.retention.dates import day_label

LIKELY_FROM = 0.60
UNLIKELY_BELOW = 0.25
ROUND_TO = 0.05


def rounded_chance(chance: float) -> float:
    """The chance rounded to 5 % (0.2249 -> 0.20, 0.225 -> 0.25)."""
    # The epsilon keeps 0.575 (11.4999... steps in binary) rounding up, as printed.
    return math.floor(chance / ROUND_TO + 0.5 + 1e-9) * ROUND_TO


def band_of(chance: float) -> str:
    """ "likely", "unsure" or "unlikely", on the rounded chance the rep reads."""
    shown = round(rounded_chance(chance), 2)
    if shown >= LIKELY_FROM:
        return "likely"
    if shown < UNLIKELY_BELOW:
        return "unlikely"
    return "unsure"


def percent_text(chance: float) -> str:
    """ "20 %"; never "0 %" ("under 1 %", or "2 %") nor "100 %" ("over 95 %")."""
    shown = round(rounded_chance(chance) * 100)
    if shown <= 0:
        whole = math.floor(chance * 100)
        return "under 1 %" if whole < 1 else f"{whole} %"
    if shown >= 100 and chance < 1:
        return "over 95 %"
    return f"{shown} %"


def orders_text(expected: float) -> str:
    """ "less than one order expected", "about one order expected", "about 3 orders
    expected" (whole orders: a rep does not place 0.3 of an order)."""
    if expected < 0.95:
        return "less than one order expected"
    count = round(expected)
    if count <= 1:
        return "about one order expected"
    return f"about {count:,} orders expected"


def about_money(value: float) -> str:
    """ "$4,100": two significant figures from $100 up, whole dollars below."""
    if value >= 100:
        digits = math.floor(math.log10(value)) - 1
        value = round(value / 10**digits) * 10**digits
    return f"${value:,.0f}"


def short_day(day: date) -> str:
    """ "31 Mar" (no zero padding): `dates.day_label`, the one date formatter."""
    return day_label(day, year=False)
