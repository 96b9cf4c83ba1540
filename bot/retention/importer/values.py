"""Turning the text of one cell into a value: money, e-mails, day counts (dates are in
`dates`).

Parsers raise `Bad` with a reason a person can read. Plain values (``1234.50``) take a
fast path; everything else (currency symbols, thousands separators, a locale's
``1.234,50``) is handled by a parser built once per file from the import's options.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from babel import Locale, UnknownLocaleError
from babel.numbers import (
    NumberFormatError,
    format_decimal,
    get_decimal_symbol,
    get_group_symbol,
    parse_decimal,
)

from bot.retention.errors import InvalidInput


class Bad(Exception):
    """A value that cannot be imported; `reason` says why, for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- money -------------------------------------------------------------------------------

PLAIN_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
# A plain number that may be point-grouped thousands ("1.234", "12.000"): a locale reads it.
_POINT_GROUPED = re.compile(r"[+-]?[0-9]{1,3}\.[0-9]{3}")
_WHOLE_NUMBER = re.compile(r"[0-9]+")
_EMAIL = re.compile(r"[^@\s,;<>\"()]+@[^@\s,;<>\".()]+(?:\.[^@\s,;<>\".()]+)+")
_EMAIL_INSIDE = re.compile(r"[<(]\s*([^<>()\s]+@[^<>()\s]+)\s*[>)]\s*$")
# Numeric(16, 2): at most 14 digits before the point.
_MONEY_LIMIT = Decimal(10) ** 14
_CENT = Decimal("0.01")
# Currency codes and symbols around an amount: "USD 1,234.50", "1.234,50 €", "R$ 10", "kr 5".
_CURRENCY_WORD = re.compile(
    r"^(?:[A-Z]{3}|[A-Z]{1,2}\$|kr|Kč|zł|lei)\s*|\s*(?:[A-Z]{3}|kr|Kč|zł|lei)$"
)
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009'’")
# The forms most exports write, read without the general path (a fast path: a million
# "$1,234.50" amounts otherwise cost a third of the import): an optional dollar, euro or
# pound sign, comma thousands and a point ("1,234.50"), or point thousands and a comma
# ("1.234,50"), optionally in parentheses or with a minus for a credit.
_COMMON_MONEY = re.compile(
    r"(?P<open>\()?(?P<minus>-)?[$€£]?\s?(?P<minus2>-)?"
    r"(?:(?P<us>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<us_cents>[0-9]{1,2}))?"
    r"|(?P<eu>[0-9]{1,3}(?:\.[0-9]{3})+),(?P<eu_cents>[0-9]{1,2}))"
    r"(?(open)\))"
)


def _strip_currency(text: str) -> str:
    """The number part of "$1,234.50", "€ 1.234,50", "1 234,50 kr", "USD 99"."""
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Sc")
    text = _CURRENCY_WORD.sub("", text.strip())
    return text.strip()


@dataclass(frozen=True)
class MoneyParser:
    """Amounts as exports write them. Without a locale, a value with both separators uses
    the last one as the decimal point, and a lone comma is a thousands separator when
    three digits follow it (``1,234``) and a decimal comma otherwise (``12,5``). With a
    locale, Babel's number parsing decides (``de``: ``1.234,50``)."""

    locale: str | None = None

    @functools.cached_property
    def point_is_decimal(self) -> bool:
        """Whether a point in an amount is its decimal point (no locale, or e.g. en)."""
        return self.locale is None or get_decimal_symbol(self.locale) == "."

    def __call__(self, text: str) -> Decimal:
        if PLAIN_NUMBER.fullmatch(text) and not (
            # "1.234" or "12.000" with a locale: the locale decides (--locale de: 1234, 12000),
            # and with a decimal comma every point does ("1415.900" and "1.5" are refused).
            self.locale and (_POINT_GROUPED.fullmatch(text) or not self.point_is_decimal)
        ):
            dot = text.find(".")
            both_ways = self.locale is None and _point_reads_both_ways(text.lstrip("+-"))
            if dot != -1 and len(text) - dot > 3 and text[dot + 3 :].strip("0"):
                hint = " (if the point separates thousands, pass --locale de)" if both_ways else ""
                raise Bad(f"“{text}” has more than 2 decimal places{hint}")
            if both_ways:
                raise Bad(_point_both_ways(text))
            value = Decimal(text)
        elif self.locale is None and (common := _COMMON_MONEY.fullmatch(text)):
            value = _common_money(common)
        else:
            value = self._parse_formatted(text)
            if value != value.quantize(_CENT):
                raise Bad(f"“{text}” has more than 2 decimal places")
        if abs(value) >= _MONEY_LIMIT:
            raise Bad(f"“{text}” is too large (the limit is 99999999999999.99)")
        return value

    def as_text(self, text: str) -> str:
        """``str(self(text))`` (the amount as plain text: "$1,234.50" -> "1234.50"), the
        common export forms without making a Decimal (a third of a formatted import's
        amount cost)."""
        common = None if self.locale else _COMMON_MONEY.fullmatch(text)
        if common is None or PLAIN_NUMBER.fullmatch(text):
            return str(self(text))
        if common["us"] is not None:
            whole, cents = common["us"].replace(",", ""), common["us_cents"]
        else:
            whole, cents = common["eu"].replace(".", ""), common["eu_cents"]
        whole = whole.lstrip("0") or "0"
        if len(whole) > 14:
            return str(self(text))  # too large: the full path says so
        number = whole + ("." + cents if cents else "")
        negative = common["open"] or common["minus"] or common["minus2"]
        # Decimal's minus leaves a zero unsigned: "-$0.00" reads "0.00".
        return "-" + number if negative and number.strip("0.") else number

    def _parse_formatted(self, text: str) -> Decimal:
        body = text.strip()
        negative = False
        if body.startswith("(") and body.endswith(")"):
            negative, body = True, body[1:-1].strip()
        for sign in ("-", "−", "+"):
            if body.startswith(sign) or body.endswith(sign):
                negative = negative or sign != "+"
                body = body.strip(sign).strip()
        body = _strip_currency(body)
        if body[:1] in ("-", "−"):
            negative, body = True, body[1:].strip()
        body = body.translate(_SPACES)
        if not body or (not body[0].isdigit() and body[0] not in ".,"):
            raise Bad(f"“{text}” is not an amount; use a number like 1234.50 or $1,234.50")
        if self.locale is None and _point_reads_both_ways(body):
            raise Bad(_point_both_ways(text))
        number = self._locale_number(body) if self.locale else self._guess_number(body)
        if number is None and self.locale:
            example = format_decimal(1234.5, format="#,##0.00", locale=self.locale)
            raise Bad(
                f"“{text}” is not an amount as --locale {self.locale} writes them "
                f"(e.g. {example}); check the column, or the --locale"
            )
        if number is None:
            raise Bad(
                f"“{text}” is not an amount; use a number like 1234.50 "
                "(pass --locale, e.g. --locale de, for 1.234,50)"
            )
        return -number if negative else number

    def _locale_number(self, body: str) -> Decimal | None:
        if "." in body and not self.point_is_decimal and get_group_symbol(self.locale) != ".":
            # A decimal comma grouped with spaces (fr, sv, pl): Babel would read the point
            # as the decimal point ("1415.900" as 1415.9); with a decimal comma it is none.
            return None
        try:
            return parse_decimal(body, locale=self.locale, strict=True)
        except NumberFormatError:
            return None

    @staticmethod
    def _guess_number(body: str) -> Decimal | None:
        comma, dot = body.rfind(","), body.rfind(".")
        if comma != -1 and dot != -1:
            decimal_sep, group_sep = (",", ".") if comma > dot else (".", ",")
        elif comma != -1:
            groups = body.split(",")
            if len(groups) > 2 or len(groups[1]) == 3:
                decimal_sep, group_sep = ".", ","
            else:
                decimal_sep, group_sep = ",", "."
        else:
            decimal_sep, group_sep = ".", ","
        whole, _, cents = body.partition(decimal_sep)
        parts = whole.split(group_sep)
        if len(parts) > 1 and (
            not 1 <= len(parts[0]) <= 3 or any(len(part) != 3 for part in parts[1:])
        ):
            return None
        digits = "".join(parts) + ("." + cents if cents else "")
        if not PLAIN_NUMBER.fullmatch(digits):
            return None
        try:
            return Decimal(digits)
        except InvalidOperation:
            return None


def _point_reads_both_ways(number: str) -> bool:
    """ "12.000" or "2.500": point-grouped thousands, or a decimal point with trailing
    zeros; nothing in the value tells which ("0.500" can only be decimals)."""
    return _POINT_GROUPED.fullmatch(number) is not None and not number.startswith("0")


def _point_both_ways(text: str) -> str:
    return (
        f"“{text}” is ambiguous: the point may separate thousands (pass --locale de) "
        "or be a decimal point (pass --locale en)"
    )


def _common_money(found: re.Match[str]) -> Decimal:
    """The amount in a `_COMMON_MONEY` match (the same as the general path reads it)."""
    if found["us"] is not None:
        whole, cents = found["us"].replace(",", ""), found["us_cents"]
    else:
        whole, cents = found["eu"].replace(".", ""), found["eu_cents"]
    value = Decimal(f"{whole}.{cents}" if cents else whole)
    negative = bool(found["open"] or found["minus"] or found["minus2"])
    return -value if negative else value


def check_locale(name: str | None) -> str | None:
    """A locale Babel knows ("de", "de_CH", "en-GB"), or InvalidInput naming the flag."""
    if name is None:
        return None
    try:
        return str(Locale.parse(name.replace("-", "_")))
    except (UnknownLocaleError, ValueError):
        raise InvalidInput(
            f"--locale: “{name}” is not a locale; use a code such as en, de, fr or de_CH."
        ) from None


def parse_annual_value(parse_money: MoneyParser, text: str) -> Decimal | None:
    if not text:
        return None
    value = parse_money(text)
    if value < 0:
        raise Bad(f"“{text}” is negative; an annual value is 0 or more")
    return value


def parse_cadence(text: str) -> int | None:
    if not text:
        return None
    if not _WHOLE_NUMBER.fullmatch(text) or not 1 <= int(text) <= 730:
        raise Bad(f"“{text}” is not a number of days from 1 to 730")
    return int(text)


def parse_email(text: str) -> str:
    if not _EMAIL.fullmatch(text):
        raise Bad(f"“{text}” is not an e-mail address")
    return text


def email_in(text: str) -> str | None:
    """The e-mail in "jane@x.com", "Jane Doe <jane@x.com>" or "Jane Doe (jane@x.com)"."""
    if _EMAIL.fullmatch(text):
        return text
    found = _EMAIL_INSIDE.search(text)
    return found.group(1) if found and _EMAIL.fullmatch(found.group(1)) else None
