"""Values as the CRMs send them (HubSpot, Salesforce), read once: times, amounts, text."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.clock import as_utc


def as_when(value: Any) -> datetime:
    """A CRM time as aware UTC: a datetime (naive is UTC), a date, epoch milliseconds
    (HubSpot), a plain day `2026-01-02`, or ISO 8601 with `Z` or a `+0000` offset
    (Salesforce). ValueError (or OverflowError/OSError) when it is none of these."""
    if isinstance(value, datetime):
        return as_utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = str(value).strip()
    if text.isdigit() and len(text) > 8:  # eight digits is a day: 20260102
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    if len(text) == 10:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]  # +0000 -> +00:00
    return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def maybe_when(value: Any) -> datetime | None:
    """A time the CRM holds in a record's fields, or None when it is not one."""
    try:
        return as_when(value)
    except (ValueError, OverflowError, OSError):
        return None


def as_money(value: Any) -> Decimal | None:
    """An amount, or None when empty, not a number, or not finite."""
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def as_text(value: Any) -> str | None:
    """Stripped text, or None when there is none."""
    text = "" if value is None else str(value).strip()
    return text or None
