"""The database side of the re-buy model: the data cut-off, fitting, storing, back-testing.

A fit is stored in `model_fit` (the newest row is the one used); scores are computed
on demand from it (`outlook`). Fitting runs after each orders import, weekly in
`rebuy serve` (`fit_weekly`), when a sync or import has moved the data cut-off
(`refit_if_behind`, from the scheduler) and on `rebuy model fit`. The stored side
(cut-off, fits, freshness) is in `store`, which loads no numpy.
"""

from __future__ import annotations

import logging
import math
from datetime import date, datetime, timedelta

import numpy as np
from sqlmodel import Session

from bot.retention.facts import day_start
from bot.retention.occasions import purchase_occasions

from . import gamma_gamma
from .backtest import Backtest, run_backtest
from .fitting import DEFAULT_HORIZON_DAYS, FitResult, fit_rebuy_model
from .inputs import ModelInputs, OrderArrays, build_inputs, order_arrays
from .store import (  # noqa: F401  (re-exported: the stored side lives in `store`)
    FitRun,
    data_cutoff,
    fit_is_behind,
    fit_line,
    last_order_day,
    latest_feed_through,
    latest_fit,
    store_fit,
)

log = logging.getLogger(__name__)

# The weekly job skips a fit when the newest one is younger than this and its cut-off
# is still the data cut-off (several `rebuy serve` processes, or a restart, in a week).
WEEKLY_FIT_AGE = timedelta(days=6)


def load_orders(*, session: Session, through: date) -> OrderArrays:
    """The workspace's purchase occasions on or before `through`, as (account id, day,
    value) arrays: the signals' occasions (`occasions.purchase_occasions`), one rule."""
    query = purchase_occasions(end=day_start(through + timedelta(days=1)))
    # In account order, so a fit's sums (and so its result) never depend on the plan.
    query = query.order_by(query.selected_columns[0], query.selected_columns[1])
    return order_arrays(session.execute(query))


def fit_workspace(
    *,
    session: Session,
    cutoff: date,
    unit: str = "weeks",
    horizon_days: float = DEFAULT_HORIZON_DAYS,
) -> FitResult:
    """Fit the re-buy models to the workspace's orders up to the data cut-off."""
    inputs = build_inputs(load_orders(session=session, through=cutoff), cutoff=cutoff, unit=unit)
    return fit_rebuy_model(inputs, horizon_days=horizon_days)


def valuable_from(inputs: ModelInputs, result: FitResult) -> float | None:
    """The median expected order value (Gamma-Gamma) of the repeaters at the cut-off."""
    spend = result.spend
    if not result.reliable or spend is None or not spend.reliable:
        return None
    repeat = (inputs.x > 0) & (inputs.mean_value > 0)
    if not repeat.any():
        return None
    values = gamma_gamma.expected_order_value(
        gamma_gamma.GammaGammaParams(spend.p, spend.q, spend.gamma),
        inputs.x[repeat],
        inputs.mean_value[repeat],
    )
    median = float(np.median(values))
    return median if math.isfinite(median) else None


def run_fit(*, db, now: datetime, configured_cutoff: date | None = None) -> FitRun:
    """Fit the workspace at its data cut-off and store the fit. The orders are read and
    fitted in a read session; only storing takes the write lock (a fit of a million
    rows takes seconds, and on SQLite a write lock held that long would stall touches)."""
    with db.session() as session:
        cutoff = data_cutoff(session=session, configured=configured_cutoff)
        if cutoff is None:
            return FitRun(None, "Re-buy model not fitted: there are no orders yet.")
        inputs = build_inputs(load_orders(session=session, through=cutoff), cutoff=cutoff)
    result = fit_rebuy_model(inputs)
    with db.transaction() as session:
        row = store_fit(
            session=session, result=result, now=now, valuable=valuable_from(inputs, result)
        )
    return FitRun(row, fit_line(row))


def fit_after_import(*, db, now: datetime, configured_cutoff: date | None = None) -> FitRun:
    """The fit after an orders import: a failure is logged and reported, never raised,
    so the import (already committed) never fails because of the model."""
    try:
        return run_fit(db=db, now=now, configured_cutoff=configured_cutoff)
    except Exception as error:  # the orders are in; the fit can wait for the weekly job
        log.exception("re-buy model fit after the import failed")
        return FitRun(
            None,
            f"Re-buy model not fitted ({type(error).__name__}: {error}); "
            "the import itself is complete.",
        )


def fit_weekly(runtime) -> FitRun | None:
    """The weekly job of `rebuy serve`: fit unless the newest fit is under six days old
    and already at the data cut-off. Returns None when skipped."""
    now = runtime.now()
    configured = runtime.settings.rebuy_data_cutoff
    with runtime.db.session() as session:
        newest = latest_fit(session=session)
        cutoff = data_cutoff(session=session, configured=configured)
    if newest is not None and newest.cutoff == cutoff and now - newest.created_at < WEEKLY_FIT_AGE:
        return None
    run = run_fit(db=runtime.db, now=now, configured_cutoff=configured)
    log.info("%s", run.line)
    return run


def backtest_workspace(
    *, session: Session, calibration_end: date, horizon_weeks: float, data_cutoff: date
) -> Backtest:
    """Back-test the model on the workspace's own orders (see `backtest.run_backtest`)."""
    return run_backtest(
        load_orders(session=session, through=data_cutoff),
        calibration_end=calibration_end,
        horizon_weeks=horizon_weeks,
        data_cutoff=data_cutoff,
    )


def refit_if_behind(runtime) -> FitRun | None:
    """Refit when a sync or an import has moved the data cut-off past the newest fit
    (a cheap check, run by the scheduler after each sync and every REFIT_CHECK_MINUTES;
    never in a request). Returns None when the fit is already at the cut-off."""
    configured = runtime.settings.rebuy_data_cutoff
    with runtime.db.session() as session:
        behind = fit_is_behind(session=session, configured=configured)
    if not behind:
        return None
    run = run_fit(db=runtime.db, now=runtime.now(), configured_cutoff=configured)
    log.info("%s", run.line)
    return run
