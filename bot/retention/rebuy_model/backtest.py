"""Back-test: fit on the orders up to a calibration end date, then compare with what happened.

The cohort is every account whose first purchase occasion is on or before the
calibration end. The model is fitted on the occasions on or before that date (time in
weeks), and its predictions for the next `horizon_weeks` are compared with the repeat
occasions the cohort actually had in that holdout: in total, by calibration frequency
(0..6 and 7+), and, for the chance of an order, by decile (calibration) and by the Brier
score against the base rate (everyone gets the share of the cohort that did order).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from bot.retention.dates import as_day, day_label
from bot.retention.errors import InvalidInput

from .fitting import FitResult, fit_rebuy_model, score_accounts
from .inputs import OrderArrays, build_inputs, order_arrays

FREQUENCY_GROUPS = ("0", "1", "2", "3", "4", "5", "6", "7+")


class BacktestError(InvalidInput):
    """A back-test that cannot be run as asked; the message says why, for the user."""


@dataclass(frozen=True)
class Backtest:
    calibration_end: date
    holdout_end: date
    horizon_weeks: float
    fit: FitResult
    predicted_repeat_occasions: float
    actual_repeat_occasions: int
    by_frequency: list[dict[str, Any]]
    calibration_by_decile: list[dict[str, Any]]
    brier: float
    base_rate: float
    base_rate_brier: float

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `rebuy model backtest --json` (time in weeks)."""
        fit = self.fit
        return {
            "calibration_end": self.calibration_end.isoformat(),
            "holdout_end": self.holdout_end.isoformat(),
            "horizon_weeks": self.horizon_weeks,
            "time_unit": "weeks",
            "params": {"r": fit.r, "alpha": fit.alpha, "a": fit.a, "b": fit.b},
            "log_likelihood": fit.log_likelihood,
            "accounts": fit.accounts,
            "repeaters": fit.repeaters,
            "reliable": fit.reliable,
            "reason": fit.reason,
            "predicted_repeat_occasions": self.predicted_repeat_occasions,
            "actual_repeat_occasions": self.actual_repeat_occasions,
            "by_frequency": self.by_frequency,
            "calibration_by_decile": self.calibration_by_decile,
            "brier": self.brier,
            "base_rate": self.base_rate,
            "base_rate_brier": self.base_rate_brier,
        }


def run_backtest(
    rows: Iterable[tuple[Any, date | datetime, float]] | OrderArrays,
    *,
    calibration_end: date,
    horizon_weeks: float = 39,
    data_cutoff: date,
) -> Backtest:
    """Fit on the calibration period and compare predictions with the holdout."""
    if not horizon_weeks > 0:
        raise BacktestError(f"--horizon-weeks must be positive, not {horizon_weeks}")
    calibration_end = as_day(calibration_end)
    data_cutoff = as_day(data_cutoff)
    holdout_end = calibration_end + timedelta(days=round(horizon_weeks * 7))
    if holdout_end > data_cutoff:
        raise BacktestError(
            f"the holdout would end on {day_label(holdout_end)}, after the data cut-off "
            f"{day_label(data_cutoff)}: "
            "choose an earlier --calibration-end or fewer --horizon-weeks"
        )
    orders = rows if isinstance(rows, OrderArrays) else order_arrays(rows)
    inputs = build_inputs(orders, cutoff=calibration_end, unit="weeks")
    if len(inputs) == 0:
        raise BacktestError(f"no account had ordered on or before {day_label(calibration_end)}")
    fit = fit_rebuy_model(inputs, horizon_days=horizon_weeks * 7)
    scores = score_accounts(fit, inputs, horizon_days=horizon_weeks * 7)
    actual = _holdout_occasions(orders, inputs.codes, calibration_end, holdout_end)

    predicted = scores.expected_orders
    ordered = (actual > 0).astype(float)
    chance = scores.chance_of_order
    base_rate = float(ordered.mean())
    return Backtest(
        calibration_end=calibration_end,
        holdout_end=holdout_end,
        horizon_weeks=float(horizon_weeks),
        fit=fit,
        predicted_repeat_occasions=float(predicted.sum()),
        actual_repeat_occasions=int(actual.sum()),
        by_frequency=_by_frequency(inputs.x, predicted, actual),
        calibration_by_decile=_by_decile(chance, ordered),
        brier=float(np.mean((chance - ordered) ** 2)),
        base_rate=base_rate,
        base_rate_brier=float(np.mean((base_rate - ordered) ** 2)),
    )


def _holdout_occasions(
    orders: OrderArrays, cohort_codes: np.ndarray, start: date, end: date
) -> np.ndarray:
    """Occasions (distinct positive-amount days) in (start, end], aligned with the cohort."""
    in_holdout = (
        (orders.amount > 0) & (orders.day > start.toordinal()) & (orders.day <= end.toordinal())
    )
    code = orders.code[in_holdout]
    day = orders.day[in_holdout] - start.toordinal()
    span = end.toordinal() - start.toordinal() + 1
    occasion_codes = np.unique(code * span + day) // span
    counts = np.bincount(occasion_codes, minlength=len(orders.accounts))
    return counts[cohort_codes]


def _by_frequency(x: np.ndarray, predicted: np.ndarray, actual: np.ndarray) -> list[dict]:
    group = np.minimum(x, 7).astype(int)
    rows = []
    for index, label in enumerate(FREQUENCY_GROUPS):
        members = group == index
        rows.append(
            {
                "frequency": label,
                "accounts": int(members.sum()),
                "predicted": float(predicted[members].sum()),
                "actual": int(actual[members].sum()),
            }
        )
    return rows


def _by_decile(chance: np.ndarray, ordered: np.ndarray) -> list[dict]:
    order = np.argsort(chance, kind="stable")
    groups = np.array_split(order, min(10, order.size))
    return [
        {
            "decile": number,
            "accounts": int(members.size),
            "mean_chance": float(chance[members].mean()),
            "observed_share": float(ordered[members].mean()),
        }
        for number, members in enumerate(groups, start=1)
    ]


def format_table(result: Backtest) -> str:
    """The back-test as plain-text tables for the terminal."""
    fit = result.fit
    lines = [
        f"Back-test: calibration to {day_label(result.calibration_end)}, "
        f"holdout {result.horizon_weeks:g} weeks to {day_label(result.holdout_end)}",
        f"Fit: r={fit.r:.4f} alpha={fit.alpha:.4f} a={fit.a:.4f} b={fit.b:.4f} (weeks), "
        f"log-likelihood {fit.log_likelihood:.2f}, {fit.accounts} accounts, "
        f"{fit.repeaters} repeaters",
    ]
    if not fit.reliable:
        lines.append(f"Not reliable: {fit.reason}")
    lines += [
        f"Repeat occasions in the holdout: predicted {result.predicted_repeat_occasions:.1f}, "
        f"actual {result.actual_repeat_occasions}",
        "",
        f"{'frequency':>9} {'accounts':>9} {'predicted':>10} {'actual':>8}",
    ]
    for row in result.by_frequency:
        lines.append(
            f"{row['frequency']:>9} {row['accounts']:>9} {row['predicted']:>10.1f} "
            f"{row['actual']:>8}"
        )
    lines += ["", f"{'decile':>6} {'accounts':>9} {'chance':>8} {'ordered':>8}"]
    for row in result.calibration_by_decile:
        lines.append(
            f"{row['decile']:>6} {row['accounts']:>9} {row['mean_chance']:>8.1%} "
            f"{row['observed_share']:>8.1%}"
        )
    lines += [
        "",
        f"Brier score {result.brier:.4f} (base rate {result.base_rate:.1%}: "
        f"{result.base_rate_brier:.4f})",
    ]
    return "\n".join(lines)
