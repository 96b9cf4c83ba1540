"""The database side of the re-buy model: the data cut-off, fitting, storing, back-testing.

A fit is stored in `model_fit` (the newest row is the one used); scores are computed
on demand from it (`outlook`). Fitting runs after each orders import, weekly in
`rebuy serve` (`fit_weekly`) and on `rebuy model fit`.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from bot.retention.dates import day_label
from bot.retention.importer.result import plural
from models import ModelFit, Order, OrderFeed

from . import gamma_gamma
from .backtest import Backtest, run_backtest
from .fitting import DEFAULT_HORIZON_DAYS, FitResult, fit_rebuy_model
from .inputs import ModelInputs, OrderArrays, as_day, build_inputs, order_arrays

log = logging.getLogger(__name__)

# The weekly job skips a fit when the newest one is younger than this and its cut-off
# is still the data cut-off (several `rebuy serve` processes, or a restart, in a week).
WEEKLY_FIT_AGE = timedelta(days=6)


def load_orders(*, session: Session) -> OrderArrays:
    """Every order row of the workspace as (account id, order time, amount) arrays."""
    rows = session.execute(sa.select(Order.account_id, Order.ordered_at, Order.amount))
    return order_arrays(rows)


def last_order_day(*, session: Session) -> date | None:
    """The latest order date: the cut-off for orders loaded before feeds were recorded."""
    latest = session.execute(sa.select(sa.func.max(Order.ordered_at))).scalar()
    return as_day(latest) if latest is not None else None


def latest_feed_through(*, session: Session) -> date | None:
    """The latest through-date of any orders import or sync. The latest, not the newest
    feed's: a later import of a few old orders (a correction file) must not move the
    cut-off back and refit the model on a truncated history."""
    through = session.execute(sa.select(sa.func.max(OrderFeed.through))).scalar()
    if isinstance(through, str):  # SQLite's max() of a date column comes back as text
        through = date.fromisoformat(through[:10])
    return as_day(through) if through is not None else None


def data_cutoff(*, session: Session, configured: date | None = None) -> date | None:
    """The date the order data is complete through: REBUY_DATA_CUTOFF when set, else the
    latest through-date of the imports and syncs, else (orders loaded before feeds were
    recorded) the last order's date. Never "now": T ends here. None without orders."""
    if configured is not None:
        return configured
    return latest_feed_through(session=session) or last_order_day(session=session)


def fit_workspace(
    *,
    session: Session,
    cutoff: date,
    unit: str = "weeks",
    horizon_days: float = DEFAULT_HORIZON_DAYS,
) -> FitResult:
    """Fit the re-buy models to the workspace's orders up to the data cut-off."""
    inputs = build_inputs(load_orders(session=session), cutoff=cutoff, unit=unit)
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


def _stored(value: float) -> float | None:
    return value if math.isfinite(value) else None


def store_fit(
    *, session: Session, result: FitResult, now: datetime, valuable: float | None = None
) -> ModelFit:
    """Store a fit as the workspace's newest (the caller commits)."""
    row = ModelFit(
        r=_stored(result.r),
        alpha=_stored(result.alpha),
        a=_stored(result.a),
        b=_stored(result.b),
        log_likelihood=_stored(result.log_likelihood),
        cutoff=result.cutoff,
        accounts=result.accounts,
        repeaters=result.repeaters,
        fit_seconds=result.fit_seconds,
        reliable=result.reliable,
        reason=result.reason,
        valuable_from=valuable,
        result_json=result.to_json(),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def latest_fit(*, session: Session) -> ModelFit | None:
    """The newest stored fit, reliable or not."""
    return session.execute(
        sa.select(ModelFit).order_by(ModelFit.created_at.desc(), ModelFit.id.desc()).limit(1)
    ).scalar()


@dataclass(frozen=True)
class FitRun:
    """What one fit job did, in one line for the CLI or the log."""

    fit: ModelFit | None
    line: str


def fit_line(row: ModelFit) -> str:
    """ "Re-buy model fitted to 30 Nov 2026 (600 accounts, 412 repeaters, 1.2 s). Shown to
    reps." or "... Not shown to reps: only 12 accounts have ordered on more than one day."
    """
    head = (
        f"Re-buy model fitted to {day_label(row.cutoff)} ({plural(row.accounts, 'account')}, "
        f"{plural(row.repeaters, 'repeater')}, {row.fit_seconds:.1f} s)"
    )
    if row.reliable:
        return f"{head}. Shown to reps."
    return f"{head}. Not shown to reps: {row.reason}."


def run_fit(*, db, now: datetime, configured_cutoff: date | None = None) -> FitRun:
    """Fit the workspace at its data cut-off and store the fit. The orders are read and
    fitted in a read session; only storing takes the write lock (a fit of a million
    rows takes seconds, and on SQLite a write lock held that long would stall touches)."""
    with db.session() as session:
        cutoff = data_cutoff(session=session, configured=configured_cutoff)
        if cutoff is None:
            return FitRun(None, "Re-buy model not fitted: there are no orders yet.")
        inputs = build_inputs(load_orders(session=session), cutoff=cutoff)
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
        load_orders(session=session),
        calibration_end=calibration_end,
        horizon_weeks=horizon_weeks,
        data_cutoff=data_cutoff,
    )
