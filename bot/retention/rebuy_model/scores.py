"""Scoring with a stored fit: P(alive), expected orders, the chance of an order, the value.

numpy and math only, so a card or a reminder batch scores its accounts without loading
scipy (fitting needs scipy's optimiser and special functions; scoring does not). The
2F1 term of the expected orders (eq. 10 after Euler's transformation) is summed as its
power series, which converges fast for the horizons reps see; only an account whose
series has not settled after SERIES_TERMS terms (a horizon far longer than its history
and alpha) falls back to scipy's `hyp2f1`, imported there and then. Scoring
BULK_ACCOUNTS or more at once uses `hyp2f1` directly (faster there; see the constant).

Fader, Hardie & Lee (2005) equation numbers as in `bgnbd`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .result import BGNBDParams, FitResult, GammaGammaParams, unit_days

# Below this distance from a = 1 the closed form cancels badly; the series is exact.
_NEAR_ONE = 1e-3
_SERIES_TOL = 1e-15
# Terms the vectorised series tries before an account goes to the closed form; the
# closed form's series for accounts within _NEAR_ONE of a = 1 may go on much longer.
SERIES_TERMS = 400
_SERIES_MAX_TERMS = 20_000
# From this many accounts at once (the workspace for the report, a benchmark) scipy's
# hyp2f1 is about twice as fast as the vectorised series: worth its import (scipy.special
# only, never the optimiser). A card or a reminder batch stays below it, scipy-free.
BULK_ACCOUNTS = 5_000


def _arrays(x, t_x, T):
    return (
        np.asarray(x, dtype=float),
        np.asarray(t_x, dtype=float),
        np.asarray(T, dtype=float),
    )


def _sigmoid(value):
    """1 / (1 + exp(-value)) without overflow warnings (exp of a large value is inf)."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-value))


def p_alive(params: BGNBDParams, x, t_x, T) -> np.ndarray:
    """P(still a customer at T | x, t_x, T) (note 021): 1 for anyone without a repeat."""
    x, t_x, T = _arrays(x, t_x, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    log_odds_dropped = np.log(a) - np.log(b + np.maximum(x, 1.0) - 1.0)
    log_odds_dropped = log_odds_dropped + (r + x) * np.log((alpha + T) / (alpha + t_x))
    return np.where(x > 0, _sigmoid(-log_odds_dropped), 1.0)


def _hyp_series(p, eps, c, z, max_terms):
    """S = sum_{n>=1} (p)_n (1+eps)_{n-1} / ((c)_n n!) z^n, so that 2F1(p, eps; c; z) = 1 + eps S.

    Exact for every eps (including 0); NaN where the terms are not negligible after
    `max_terms` terms.
    """
    term = p / c * z
    total = term.copy()
    active = np.flatnonzero(np.abs(term) > _SERIES_TOL * np.abs(total))
    n = 1
    while active.size and n < max_terms:
        n += 1
        term_a = term[active] * (p[active] + n - 1) * (eps + n - 1) / ((c[active] + n - 1) * n)
        term_a = term_a * z[active]
        term[active] = term_a
        total[active] += term_a
        keep = np.abs(term_a) > _SERIES_TOL * np.abs(total[active])
        active = active[keep]
    if active.size:
        total[active] = np.nan
    return total


def _series_growth(p, eps, c, z, log_1mz, max_terms):
    head = -log_1mz if eps == 0 else -np.expm1(eps * log_1mz) / eps
    return head - np.exp(eps * log_1mz) * _hyp_series(p, eps, c, z, max_terms)


def _closed_form_growth(p, eps, c, z, log_1mz):
    from scipy.special import hyp2f1  # only for accounts the series leaves (rare)

    return (1.0 - np.exp(eps * log_1mz) * hyp2f1(p, eps, c, z)) / eps


def _scaled_growth(params: BGNBDParams, x, T, t) -> np.ndarray:
    """G = [1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)] / (a-1), z = t/(alpha+T+t).

    This is eq. 10's numerator after Euler's transformation
    2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z): the original 2F1(r+x, b+x; ...)
    overflows for large x, this one stays near 1. Its limit at a = 1 is finite: the
    series takes the (a-1) factor out exactly. Accounts the series leaves unsettled go
    to the closed form (scipy), or near a = 1 to a longer series and, if need be, an
    interpolation between the closed forms just outside the near-one band.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    eps = a - 1.0
    z = t / (alpha + T + t)
    log_1mz = np.log((alpha + T) / (alpha + T + t))
    p = np.full_like(x, a + b - 1.0 - r)
    c = a + b + x - 1.0
    if x.size >= BULK_ACCOUNTS and abs(eps) >= _NEAR_ONE:
        growth = _closed_form_growth(p, eps, c, z, log_1mz)
    else:
        growth = _series_growth(p, eps, c, z, log_1mz, SERIES_TERMS)
    slow = np.flatnonzero(~np.isfinite(growth))
    if not slow.size:
        return growth
    args = (p[slow], c[slow], z[slow], log_1mz[slow])
    if abs(eps) >= _NEAR_ONE:
        rest = _closed_form_growth(args[0], eps, *args[1:])
    else:
        rest = _series_growth(args[0], eps, *args[1:], _SERIES_MAX_TERMS)
    bad = np.flatnonzero(~np.isfinite(rest))
    if bad.size:
        sub = tuple(arg[bad] for arg in args)
        if abs(eps) >= _NEAR_ONE:
            # scipy's hyp2f1 gives up on a few valid arguments; the series is exact there.
            rest[bad] = _series_growth(sub[0], eps, *sub[1:], _SERIES_MAX_TERMS)
        else:
            # z within ~1e-3 of 1: G is smooth in a, so interpolate across the band.
            below = _closed_form_growth(sub[0], -_NEAR_ONE, *sub[1:])
            above = _closed_form_growth(sub[0], _NEAR_ONE, *sub[1:])
            rest[bad] = below + (eps + _NEAR_ONE) / (2 * _NEAR_ONE) * (above - below)
    growth[slow] = rest
    return growth


def expected_orders(params: BGNBDParams, t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchase occasions in the next t (eq. 10)."""
    x, t_x, T = np.broadcast_arrays(*_arrays(x, t_x, T))
    shape = x.shape
    x, t_x, T = (np.atleast_1d(v).astype(float) for v in (x, t_x, T))
    t = np.broadcast_to(np.asarray(t, dtype=float), x.shape)
    growth = _scaled_growth(params, x, T, t)
    orders = (params.a + params.b + x - 1.0) * growth * p_alive(params, x, t_x, T)
    return orders.reshape(shape)


def chance_of_order(params: BGNBDParams, t, x, t_x, T) -> np.ndarray:
    """P(Y(t) > 0 | x, t_x, T): the chance of at least one order in the next t.

    Derivation (the y = 0 case of the BG/NBD conditional PMF, set up as in Fader &
    Hardie's note 028 on the Pareto/NBD conditional PMF): a BG/NBD customer can only
    drop out right after a purchase, so one who is alive at T makes no purchase in
    (T, T+t] exactly when the next Poisson arrival falls after T+t: P = exp(-lambda t).
    Given the history and being alive, lambda's posterior is Gamma(r+x, alpha+T) (the
    alive branch of the likelihood is (1-p)^x lambda^x exp(-lambda T)), so
    E[exp(-lambda t)] = ((alpha+T)/(alpha+T+t))^(r+x). Hence
        P(Y(t) > 0) = P(alive) * [1 - ((alpha+T)/(alpha+T+t))^(r+x)].
    tests/test_rebuy_model.py checks it against a Monte-Carlo simulation.
    """
    x, t_x, T = _arrays(x, t_x, T)
    t = np.asarray(t, dtype=float)
    log_quiet = (params.r + x) * np.log((params.alpha + T) / (params.alpha + T + t))
    return p_alive(params, x, t_x, T) * -np.expm1(log_quiet)


def expected_orders_new_customer(params: BGNBDParams, t) -> np.ndarray:
    """E[X(t)] for a customer just acquired (eq. 9), via the same stable growth term."""
    t = np.atleast_1d(np.asarray(t, dtype=float))
    zeros = np.zeros_like(t)
    return (params.a + params.b - 1.0) * _scaled_growth(params, zeros, zeros, t)


def expected_order_value(params: GammaGammaParams, x, m) -> np.ndarray:
    """E[value of an order | x, m]: the population mean p*gamma/(q-1) shrunk towards m.

    Accounts with no repeat occasion (x = 0) get the population mean. Needs q > 1.
    """
    x = np.asarray(x, dtype=float)
    m = np.where(x > 0, np.asarray(m, dtype=float), 0.0)
    p, q, g = params.p, params.q, params.gamma
    return p * (g + m * x) / (p * x + q - 1.0)


@dataclass(frozen=True)
class Scores:
    """Per-account scores, aligned with the inputs' accounts; horizon in days."""

    horizon_days: float
    p_alive: np.ndarray
    expected_orders: np.ndarray
    chance_of_order: np.ndarray
    expected_value: np.ndarray  # NaN without a repeat occasion or a usable spend fit


def score_accounts(fit: FitResult, inputs, *, horizon_days: float = 90) -> Scores:
    """Score every account in the inputs (`ModelInputs`) at once, no loop over accounts."""
    params = fit.params_in(inputs.unit)
    t = horizon_days / unit_days(inputs.unit)
    alive = p_alive(params, inputs.x, inputs.t_x, inputs.T)
    orders = expected_orders(params, t, inputs.x, inputs.t_x, inputs.T)
    chance = chance_of_order(params, t, inputs.x, inputs.t_x, inputs.T)
    value = np.full(len(inputs), np.nan)
    spend = fit.spend
    if spend is not None and spend.reliable:
        order_value = expected_order_value(
            GammaGammaParams(spend.p, spend.q, spend.gamma), inputs.x, inputs.mean_value
        )
        value = np.where(inputs.x > 0, orders * order_value, np.nan)
    return Scores(
        horizon_days=float(horizon_days),
        p_alive=alive,
        expected_orders=orders,
        chance_of_order=chance,
        expected_value=value,
    )
