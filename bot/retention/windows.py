"""Days and the moving windows the signals read (last 6, 12 and 24 months), with no
database import: the report's read path, the facts and the summary share them."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from dateutil.relativedelta import relativedelta

# Frequency and monetary value are measured over this many months back from the as-of day.
RFM_WINDOW_MONTHS = 24
# The windowed values the summary keeps (bot/retention/summary.py).
WINDOWS = (6, 12, RFM_WINDOW_MONTHS)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


@lru_cache(maxsize=256)
def months_back(as_of: date, months: int) -> date:
    """Calendar months back: 2026-08-31 minus 6 months is 2026-02-28."""
    return as_of - relativedelta(months=months)


def window_edges(as_of: date, stored_on: date, months: int) -> Iterator[tuple[date, date, int]]:
    """Day ranges [start, stop) whose orders move a window stored as of `stored_on` to the
    one as of `as_of`, each with +1 (now inside) or -1 (no longer inside)."""
    wanted = (months_back(as_of, months), as_of + timedelta(days=1))
    stored = (months_back(stored_on, months), stored_on + timedelta(days=1))
    points = sorted({*wanted, *stored})
    for start, stop in itertools.pairwise(points):
        sign = int(wanted[0] <= start < wanted[1]) - int(stored[0] <= start < stored[1])
        if sign:
            yield start, stop, sign
