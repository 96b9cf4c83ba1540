"""Turning the text of a date cell into a time, as exports write dates.

ISO dates take a fast path; ``03/15/2025``, ``15.03.2025``, ``Mar 15, 2025`` and a
given ``--date-format`` are read by a `DateParser` built once per file. A parser raises
`Bad` with a reason a person can read.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.retention.errors import InvalidInput
from bot.retention.importer.values import Bad

_NUMERIC_DATE = re.compile(
    r"(\d{1,2})([/.\-])(\d{1,2})\2(\d{4})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*([AaPp][Mm])?)?"
)
_MONTHS = {
    name.lower(): number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_TIME = r"(?:,?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?)?"
# "Mar 15, 2025", "March 15 2025 2:30 PM"
_MONTH_FIRST = re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4})" + _TIME)
# "15 Mar 2025", "15-Mar-2025"
_DAY_FIRST = re.compile(r"(\d{1,2})[\s\-]([A-Za-z]{3,9})\.?[\s\-,]+(\d{4})" + _TIME)

DATE_ORDERS = {"mdy": "MM/DD/YYYY", "dmy": "DD/MM/YYYY"}
# What people type in --date-format, longest first: MM (or M) after a colon is the
# minutes ("DD/MM/YYYY HH:MM"), anywhere else the month; MMM is "Mar", MMMM "March".
_FORMAT_TOKEN = re.compile(r"YYYY|YY|MMMM|MMM|MM?|DD?|HH?|SS?")
_FORMAT_CODES = {
    "YYYY": "%Y",
    "YY": "%y",
    "MMMM": "%B",
    "MMM": "%b",
    "M": "%m",
    "D": "%d",
    "H": "%H",
    "S": "%S",
}


class DateOrderDecided(Exception):
    """A day/month order different from the one assumed so far was proven by a value;
    the import starts again with that order (raised at most once per import)."""

    def __init__(self, order: str) -> None:
        super().__init__(order)
        self.order = order


def _time_of(hour: str | None, minute: str | None, second: str | None, half: str | None):
    if hour is None:
        return 0, 0, 0
    h, m, s = int(hour), int(minute or 0), int(second or 0)
    if half:
        if not 1 <= h <= 12:
            raise ValueError("hour")
        h = h % 12 + (12 if half.lower() == "pm" else 0)
    return h, m, s


class DateParser:
    """Dates and times as exports write them, as timezone-aware UTC.

    ISO dates and date-times always work. Without `--date-format` the parser also reads
    15.03.2025 (a dotted date is day first), Mar 15, 2025, 15 Mar 2025 and Excel-style
    "3/15/2025 14:30". A slash or dash date is ambiguous until a value proves the order
    (a part over 12): until then month-first is assumed, and a value proving day-first
    raises `DateOrderDecided` so the import restarts with it. A file whose every such
    date reads both ways is refused by `check_decided`.
    """

    def __init__(
        self, date_format: str | None = None, order: str | None = None, where: str = ""
    ) -> None:
        self.where = where  # "orders.csv: ", before a message about the whole file
        self.format = _strptime_format(date_format) if date_format else None
        self.fast = _fast_date_pattern(self.format) if self.format else None
        self.given = date_format
        self.order = order
        self.ambiguous_example: str | None = None
        self.proof: str | None = None  # the first value that proved the order
        self.seen: set[str] = set()  # which styles were read, for the summary

    def __call__(self, text: str) -> datetime:
        try:
            value = self._parse(text)
        except (ValueError, OverflowError):
            raise Bad(self._not_a_date(text)) from None
        if value is None:
            raise Bad(self._not_a_date(text))
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if value.year < 1900:
            raise Bad(f"“{text}” is before 1900; is the year right?")
        return value

    def _not_a_date(self, text: str) -> str:
        if self.given:
            return f"“{text}” does not match the date format “{self.given}”"
        return (
            f"“{text}” is not a date; use YYYY-MM-DD, an ISO date-time, 03/15/2025, "
            "15.03.2025 or Mar 15, 2025 (or pass --date-format)"
        )

    def _parse(self, text: str) -> datetime | None:
        if self.fast is not None and (found := self.fast[0].fullmatch(text)):
            parts = dict(zip(self.fast[1], map(int, found.groups()), strict=True))
            return datetime(parts["Y"], parts["m"], parts["d"])
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            self.seen.add("ISO")
            return value
        if self.format is not None:
            return self._with_format(text)
        found = _NUMERIC_DATE.fullmatch(text)
        if found:
            return self._numeric(text, found)
        for pattern, month_at in ((_MONTH_FIRST, 1), (_DAY_FIRST, 2)):
            found = pattern.fullmatch(text)
            if found:
                month = _MONTHS.get(found.group(month_at).lower())
                if month is None:
                    return None
                day = int(found.group(3 - month_at))
                self.seen.add("month names")
                return datetime(int(found.group(3)), month, day, *_time_of(*found.groups()[3:]))
        return None

    def _with_format(self, text: str) -> datetime:
        assert self.format is not None
        try:
            return datetime.strptime(text, self.format)
        except ValueError:
            # A time after the date ("03/15/2025 14:30") is fine whatever the format.
            head, _, rest = text.partition(" ")
            day = datetime.strptime(head, self.format)
            found = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?", rest.strip())
            if not found:
                raise
            return day.replace(
                **dict(zip(("hour", "minute", "second"), _time_of(*found.groups()), strict=True))
            )

    def _numeric(self, text: str, found: re.Match[str]) -> datetime:
        first, separator, second, year = found.group(1, 2, 3, 4)
        a, b = int(first), int(second)
        if separator == ".":
            order = "dmy"  # 15.03.2025: dotted dates are day first wherever they are used
        elif a > 12 >= b:
            order = self._prove("dmy", text)
        elif b > 12 >= a:
            order = self._prove("mdy", text)
        else:
            if a != b and self.ambiguous_example is None:
                self.ambiguous_example = text
            order = self.order or "mdy"
        self.seen.add("DD.MM.YYYY" if separator == "." else DATE_ORDERS[order])
        month, day = (a, b) if order == "mdy" else (b, a)
        return datetime(int(year), month, day, *_time_of(*found.groups()[4:]))

    def _prove(self, order: str, text: str) -> str:
        if self.order is None:
            self.order, self.proof = order, text
            if order != "mdy" and self.ambiguous_example is not None:
                raise DateOrderDecided(order)
        elif self.order != order:
            first, then = ("month", "day") if order == "mdy" else ("day", "month")
            earlier = f"“{self.proof}”" if self.proof else "an earlier date"
            raise InvalidInput(
                f"{self.where}the file mixes day-first and month-first dates: “{text}” can only be "
                f"{first} first, {earlier} only {then} first. Make them one style, or pass "
                "--date-format DD/MM/YYYY or --date-format MM/DD/YYYY (the other style's "
                "rows are then listed as bad)."
            )
        return self.order

    def check_decided(self, path: str) -> None:
        """Refuse a file whose slash dates all read both ways (e.g. only 03/04/2025)."""
        if self.ambiguous_example is not None and self.order is None:
            text = self.ambiguous_example
            found = _NUMERIC_DATE.fullmatch(text)
            assert found is not None
            a, b, year = int(found.group(1)), int(found.group(3)), int(found.group(4))
            us, eu = datetime(year, a, b), datetime(year, b, a)
            us, eu = f"{us.day} {us:%B %Y}", f"{eu.day} {eu:%B %Y}"
            raise InvalidInput(
                f"{path}: the dates are ambiguous: “{text}” reads as {us} (month first) or "
                f"{eu} (day first), and no date in the file settles it. Pass --date-format "
                "MM/DD/YYYY or --date-format DD/MM/YYYY."
            )

    def describe(self) -> str | None:
        if self.given:
            return f"dates as {self.given}"
        styles = sorted(self.seen - {"ISO"})
        return "dates as " + ", ".join(styles) if styles else None


_SIMPLE_FORMAT = re.compile(r"%([mdY])([^%\w])%([mdY])\2%([mdY])")


def _fast_date_pattern(pattern: str) -> tuple[re.Pattern[str], tuple[str, ...]] | None:
    """A regex reading what strptime reads for day/month/year formats such as %m/%d/%Y
    (strptime costs about ten times as much per value), with the fields' order."""
    found = _SIMPLE_FORMAT.fullmatch(pattern)
    if found is None:
        return None
    fields = found.group(1, 3, 4)
    if sorted(fields) != ["Y", "d", "m"]:
        return None
    digits = {"Y": r"([0-9]{4})", "m": r"([0-9]{1,2})", "d": r"([0-9]{1,2})"}
    separator = re.escape(found.group(2))
    return re.compile(separator.join(digits[f] for f in fields)), fields


def _strptime_format(given: str) -> str:
    """ "DD/MM/YYYY", "D/M/YYYY HH:MM" or a strptime pattern ("%d/%m/%Y") as a strptime
    pattern that strptime can use (else InvalidInput naming the flag)."""
    pattern = given
    if "%" not in given:
        pattern = _FORMAT_TOKEN.sub(_format_code, given.upper())
    if "%" not in pattern:
        raise InvalidInput(
            f"--date-format: “{given}” has no day, month or year in it; use e.g. DD/MM/YYYY, "
            "MM/DD/YYYY or a strptime pattern such as %d.%m.%Y."
        )
    # Aware, so that a pattern with %z or %Z ("+0100", "UTC") reads its own output.
    sample = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)
    try:
        back = datetime.strptime(sample.strftime(pattern), pattern)
    except (ValueError, re.error):
        raise InvalidInput(
            f"--date-format: “{given}” is not a date format; use e.g. DD/MM/YYYY, "
            "MM/DD/YYYY HH:MM or a strptime pattern such as %d.%m.%Y."
        ) from None
    if back.date() != sample.date():
        # "YYYY:MM:DD" (MM after a colon is the minutes) or "DD/MM": every order would
        # fall in January or in 1900.
        raise InvalidInput(
            f"--date-format: “{given}” does not read a year, a month and a day (it reads "
            f"{sample:%Y-%m-%d} written that way as {back:%Y-%m-%d}); use e.g. DD/MM/YYYY, "
            "YYYY-MM-DD or a strptime pattern such as %Y:%m:%d."
        )
    return pattern


def _format_code(token: re.Match[str]) -> str:
    text = token.group()
    if text[0] == "M" and token.start() and token.string[token.start() - 1] == ":":
        return "%M"
    return _FORMAT_CODES[text] if text in _FORMAT_CODES else _FORMAT_CODES[text[0]]
