"""The database side of the re-buy model: read a workspace's orders, fit, back-test.

Storing the fit (and fitting after each import and weekly in `rebuy serve`) comes with
the table that will hold `FitResult.to_json()`; until then `rebuy model fit` prints it.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlmodel import Session

from models import Order

from .backtest import Backtest, run_backtest
from .fitting import DEFAULT_HORIZON_DAYS, FitResult, fit_rebuy_model
from .inputs import OrderArrays, as_day, build_inputs, order_arrays


def load_orders(*, session: Session) -> OrderArrays:
    """Every order row of the workspace as (account id, order time, amount) arrays."""
    rows = session.execute(sa.select(Order.account_id, Order.ordered_at, Order.amount))
    return order_arrays(rows)


def last_order_day(*, session: Session) -> date | None:
    """The latest order date: the data cut-off until imports record their through-date."""
    latest = session.execute(sa.select(sa.func.max(Order.ordered_at))).scalar()
    return as_day(latest) if latest is not None else None


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
