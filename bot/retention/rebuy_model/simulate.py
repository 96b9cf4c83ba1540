"""Synthetic customers drawn from the BG/NBD and Gamma-Gamma processes.

Used by the tests (to check the closed forms against simulation) and by the benchmark
(so that a fit on synthetic data is a meaningful fit). Deterministic given the numpy
Generator passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from .bgnbd import BGNBDParams
from .gamma_gamma import GammaGammaParams


def repeat_purchase_times(
    params: BGNBDParams, horizon: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Repeat purchases of len(horizon) new customers, each observed over (0, horizon_i].

    Every customer made their first purchase at time 0. While alive they buy at rate
    lambda ~ Gamma(r, alpha); after each repeat purchase they drop out with probability
    p ~ Beta(a, b). Returns (customer index, purchase time), sorted by customer and time.
    """
    horizon = np.asarray(horizon, dtype=float)
    n = horizon.size
    rate = rng.gamma(params.r, 1.0 / params.alpha, size=n)
    dropout = rng.beta(params.a, params.b, size=n)
    # Purchases until dropout, counting the one after which they leave (>= 1).
    lifetime_purchases = rng.geometric(dropout)
    arrivals = rng.poisson(rate * horizon)
    customer = np.repeat(np.arange(n), arrivals)
    times = rng.random(customer.size) * horizon[customer]
    order = np.lexsort((times, customer))
    customer, times = customer[order], times[order]
    first_of = np.cumsum(arrivals) - arrivals
    rank = np.arange(customer.size) - first_of[customer]
    keep = rank < lifetime_purchases[customer]
    return customer[keep], times[keep]


def histories(
    params: BGNBDParams, T: np.ndarray, t: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, t_x) over (0, T] and the number of purchases Y in (T, T + t], per customer."""
    T = np.asarray(T, dtype=float)
    customer, times = repeat_purchase_times(params, T + t, rng)
    calibration = times <= T[customer]
    x = np.bincount(customer[calibration], minlength=T.size).astype(float)
    t_x = np.zeros(T.size)
    np.maximum.at(t_x, customer[calibration], times[calibration])
    y = np.bincount(customer[~calibration], minlength=T.size).astype(float)
    return x, t_x, y


@dataclass(frozen=True)
class SyntheticOrders:
    account: np.ndarray  # int codes
    day: np.ndarray  # date ordinals
    amount: np.ndarray


def orders(
    *,
    accounts: int,
    params: BGNBDParams,
    spend: GammaGammaParams,
    first_day: date,
    last_day: date,
    rng: np.random.Generator,
    acquisition_days: int | None = None,
) -> SyntheticOrders:
    """Order rows (one per purchase) of `accounts` customers, params in days.

    Each account's first purchase falls uniformly in the first `acquisition_days`
    (default: the first half of the period); orders run until `last_day`. Order values
    follow Gamma-Gamma: nu ~ Gamma(q, gamma) per account, each value ~ Gamma(p, nu).
    """
    start = first_day.toordinal()
    end = last_day.toordinal()
    window = acquisition_days if acquisition_days is not None else (end - start) // 2
    first = start + rng.integers(0, window + 1, size=accounts)
    customer, times = repeat_purchase_times(params, (end - first).astype(float), rng)
    account = np.concatenate([np.arange(accounts), customer])
    day = np.concatenate([first, first[customer] + np.ceil(times).astype(np.int64)])
    nu = rng.gamma(spend.q, 1.0 / spend.gamma, size=accounts)
    amount = rng.gamma(spend.p, 1.0 / nu[account])
    return SyntheticOrders(account=account, day=np.minimum(day, end), amount=amount)
