"""From order rows to the models' inputs: per account (x, t_x, T, mean repeat value).

A purchase occasion is the signals' (bot/retention/facts.py, `is_occasion`): a distinct
order day (UTC) with at least one positive row, worth the sum of that day's positive
rows. Credits (negative rows) and zero rows are never occasions and never lower one:
a credit is for an older order, whatever day it lands on. From the database the rows
come already as occasions (`occasions.purchase_occasions`, see fit_job); raw rows (a file,
the benchmark, tests) are grouped per day here by the same rule, and a test checks both
agree on messy rows.

    x    = occasions after the first one (repeat occasions);
    t_x  = time from the first occasion to the last one;
    T    = time from the first occasion to the data cut-off (the date the order data is
           complete through, passed in; never "now");
    mean = mean value of the repeat occasions (the first one is left out, as the
           Gamma-Gamma model is fitted on repeat purchases).

Orders dated after the cut-off are ignored: the data is not complete there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np

from bot.retention.dates import as_day

from .result import unit_days


@dataclass(frozen=True)
class ModelInputs:
    """One row per account with at least one occasion on or before the cut-off."""

    accounts: list[Any]
    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    mean_value: np.ndarray  # NaN where x == 0
    first_day: np.ndarray  # proleptic ordinal of the first occasion
    codes: np.ndarray  # each account's index in the list the rows were coded against
    cutoff: date
    unit: str

    def __len__(self) -> int:
        return len(self.accounts)

    @property
    def repeaters(self) -> int:
        return int(np.count_nonzero(self.x > 0))

    @property
    def history_days(self) -> int:
        """Days from the earliest first occasion to the cut-off."""
        if not len(self):
            return 0
        return self.cutoff.toordinal() - int(self.first_day.min())


@dataclass(frozen=True)
class OrderArrays:
    """Order rows as arrays: `code` indexes into `accounts`, `day` is a date ordinal."""

    accounts: list[Any]
    code: np.ndarray
    day: np.ndarray
    amount: np.ndarray


def order_arrays(rows: Iterable[tuple[Any, date | datetime, float | Decimal]]) -> OrderArrays:
    """Read order rows (account, order date, amount) once into arrays."""
    index: dict[Any, int] = {}
    codes: list[int] = []
    days: list[int] = []
    amounts: list[float] = []
    for number, (account, when, amount) in enumerate(rows, start=1):
        try:
            day = as_day(when).toordinal()
            value = float(amount)
        except (TypeError, ValueError) as error:
            raise ValueError(f"order row {number} (account {account!r}): {error}") from None
        codes.append(index.setdefault(account, len(index)))
        days.append(day)
        amounts.append(value)
    return OrderArrays(
        accounts=list(index),
        code=np.asarray(codes, dtype=np.int64),
        day=np.asarray(days, dtype=np.int64),
        amount=np.asarray(amounts, dtype=float),
    )


def build_inputs(
    rows: Iterable[tuple[Any, date | datetime, float | Decimal]] | OrderArrays,
    *,
    cutoff: date | datetime,
    unit: str = "weeks",
) -> ModelInputs:
    """Turn order rows (account, order date, amount) into per-account model inputs."""
    unit_days(unit)  # reject a bad unit before reading any rows
    orders = rows if isinstance(rows, OrderArrays) else order_arrays(rows)
    return build_inputs_from_arrays(
        orders.code,
        orders.day,
        orders.amount,
        accounts=orders.accounts,
        cutoff=as_day(cutoff),
        unit=unit,
    )


def day_occasions(
    account_codes: np.ndarray, day_ordinals: np.ndarray, amounts: np.ndarray, *, cutoff_ordinal: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The purchase occasions in raw rows (occasions.is_occasion's rule on arrays): one per
    account and day on or before the cut-off with at least one positive row, worth the
    sum of its positive rows. Sorted by account, then day."""
    # Credits and zero rows never make or lower an occasion: only positive rows count.
    keep = (day_ordinals <= cutoff_ordinal) & (amounts > 0)
    codes, days, values = account_codes[keep], day_ordinals[keep], amounts[keep]
    if codes.size == 0:
        return codes, days, values.astype(float)
    # One key per (account, day) with a positive row: an occasion worth their sum.
    day_base = int(days.min())
    span = cutoff_ordinal - day_base + 1
    keys, inverse = np.unique(codes * span + (days - day_base), return_inverse=True)
    value = np.bincount(inverse, weights=values)
    return keys // span, keys % span + day_base, value


def build_inputs_from_arrays(
    account_codes: np.ndarray,
    day_ordinals: np.ndarray,
    amounts: np.ndarray,
    *,
    accounts: Sequence[Any],
    cutoff: date,
    unit: str = "weeks",
) -> ModelInputs:
    """The vectorised core: account_codes index into `accounts`, days are date ordinals."""
    per_unit = unit_days(unit)
    cutoff_ordinal = cutoff.toordinal()
    occ_code, occ_day, occasion_value = day_occasions(
        account_codes, day_ordinals, amounts, cutoff_ordinal=cutoff_ordinal
    )
    empty = np.empty(0)
    if occ_code.size == 0:
        none = np.empty(0, np.int64)
        return ModelInputs([], empty, empty, empty, empty, none, none, cutoff, unit)
    # keys are sorted, so each account's occasions are contiguous and in date order.
    present, starts, counts = np.unique(occ_code, return_index=True, return_counts=True)
    ends = starts + counts - 1
    first = occ_day[starts]
    last = occ_day[ends]
    x = (counts - 1).astype(float)
    total = np.add.reduceat(occasion_value, starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_value = np.where(x > 0, (total - occasion_value[starts]) / x, np.nan)
    return ModelInputs(
        accounts=[accounts[i] for i in present.tolist()],
        x=x,
        t_x=(last - first) / per_unit,
        T=(cutoff_ordinal - first) / per_unit,
        mean_value=mean_value,
        first_day=first,
        codes=present,
        cutoff=cutoff,
        unit=unit,
    )
