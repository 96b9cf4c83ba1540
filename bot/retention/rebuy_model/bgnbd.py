"""The BG/NBD model: who is still a customer, and how many orders to expect from them.

Fader, Hardie & Lee (2005), "'Counting Your Customers' the Easy Way: An Alternative to
the Pareto/NBD Model", Marketing Science 24(2), 275-284 (equations 6, 10 and 13 below
refer to it); P(alive) as in Fader, Hardie & Lee, "Computing P(alive) Using the BG/NBD
Model" (brucehardie.com note 021).

A customer's history is (x, t_x, T): x repeat purchase occasions, the last of them at
t_x, and T the time from the first occasion to the data cut-off, in one time unit.
While alive, a customer buys at rate lambda ~ Gamma(r, alpha); after each repeat
purchase they drop out with probability p ~ Beta(a, b).

Everything here is vectorised over accounts (numpy arrays in, arrays out) and works in
logs so that large frequencies and long histories stay finite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

# Below this distance from a = 1 the closed form cancels badly; use the exact series.
_NEAR_ONE = 1e-3
_SERIES_MAX_TERMS = 20_000
_SERIES_TOL = 1e-15
# The optimiser works on log-parameters inside these bounds, which keeps every term finite;
# a fit that runs into them is degenerate and is reported as such by the caller.
LOG_PARAM_BOUND = 15.0
DEFAULT_MAX_ITERATIONS = 500


@dataclass(frozen=True)
class BGNBDParams:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}


@dataclass(frozen=True)
class BGNBDFit:
    params: BGNBDParams
    log_likelihood: float
    converged: bool
    iterations: int
    message: str


def _arrays(x, t_x, T):
    return (
        np.asarray(x, dtype=float),
        np.asarray(t_x, dtype=float),
        np.asarray(T, dtype=float),
    )


def _log_terms(r, alpha, a, b, x, t_x, T):
    """The per-account log-likelihood of eq. 6 and the weight of its 'dropped out' branch.

    L = B(a, b+x)/B(a, b) * Gamma(r+x) alpha^r / Gamma(r) *
        [ (alpha+T)^-(r+x) + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x) ]
    The bracket is summed with log-sum-exp.
    """
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    alive = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    # b + x - 1 > 0 whenever x >= 1; max() only keeps the x = 0 rows (masked out) finite.
    dropped = np.where(
        repeat,
        np.log(a) - np.log(b + np.maximum(x, 1.0) - 1.0) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    top = np.maximum(alive, dropped)
    lse = top + np.log(np.exp(alive - top) + np.exp(dropped - top))
    w_dropped = np.exp(dropped - lse)
    return base + lse, w_dropped


def log_likelihood(params: BGNBDParams, x, t_x, T, weights=None) -> float:
    """The BG/NBD log-likelihood of the histories (x, t_x, T), summed over accounts."""
    x, t_x, T = _arrays(x, t_x, T)
    ll, _ = _log_terms(params.r, params.alpha, params.a, params.b, x, t_x, T)
    if weights is not None:
        ll = ll * np.asarray(weights, dtype=float)
    return float(ll.sum())


def _negative_ll_and_gradient(log_params, x, t_x, T, weights, total):
    r, alpha, a, b = np.exp(log_params)
    ll, w4 = _log_terms(r, alpha, a, b, x, t_x, T)
    w3 = 1.0 - w4
    d_r = (
        digamma(r + x)
        - digamma(r)
        + np.log(alpha)
        - w3 * np.log(alpha + T)
        - w4 * np.log(alpha + t_x)
    )
    d_alpha = r / alpha - (r + x) * (w3 / (alpha + T) + w4 / (alpha + t_x))
    d_a = digamma(a + b) - digamma(a + b + x) + w4 / a
    d_b = (
        digamma(a + b)
        + digamma(b + x)
        - digamma(b)
        - digamma(a + b + x)
        - w4 / (b + np.maximum(x, 1.0) - 1.0)
    )
    grad = np.array(
        [
            r * np.dot(weights, d_r),
            alpha * np.dot(weights, d_alpha),
            a * np.dot(weights, d_a),
            b * np.dot(weights, d_b),
        ]
    )
    value = float(np.dot(weights, ll))
    if not np.isfinite(value):
        return math.inf, np.zeros(4)
    return -value / total, -grad / total


def fit(x, t_x, T, *, max_iterations: int = DEFAULT_MAX_ITERATIONS) -> BGNBDFit:
    """Maximum-likelihood fit of (r, alpha, a, b) over log-parameters.

    Identical histories are collapsed into weighted patterns first, and time is
    rescaled so the longest history is 10 units (only alpha depends on the unit, so
    the fit is the same in days and in weeks, with alpha x 7). The log-likelihood is
    reported in the caller's unit.
    """
    x, t_x, T = _arrays(x, t_x, T)
    if x.size == 0:
        raise ValueError("cannot fit the BG/NBD model to no accounts")
    patterns, counts = np.unique(np.stack([x, t_x, T]), axis=1, return_counts=True)
    px, pt_x, pT = patterns
    weights = counts.astype(float)
    longest = float(pT.max())
    scale = 10.0 / longest if longest > 0 else 1.0
    result = minimize(
        _negative_ll_and_gradient,
        x0=np.zeros(4),
        args=(px, pt_x * scale, pT * scale, weights, weights.sum()),
        jac=True,
        method="L-BFGS-B",
        bounds=[(-LOG_PARAM_BOUND, LOG_PARAM_BOUND)] * 4,
        options={"maxiter": max_iterations, "ftol": 1e-13, "gtol": 1e-9},
    )
    r, alpha, a, b = (float(v) for v in np.exp(result.x))
    params = BGNBDParams(r=r, alpha=alpha / scale, a=a, b=b)
    return BGNBDFit(
        params=params,
        log_likelihood=log_likelihood(params, px, pt_x, pT, weights),
        converged=bool(result.success),
        iterations=int(result.nit),
        message=str(result.message),
    )


def p_alive(params: BGNBDParams, x, t_x, T) -> np.ndarray:
    """P(still a customer at T | x, t_x, T) (note 021): 1 for anyone without a repeat."""
    x, t_x, T = _arrays(x, t_x, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    log_odds_dropped = np.log(a) - np.log(b + np.maximum(x, 1.0) - 1.0)
    log_odds_dropped = log_odds_dropped + (r + x) * np.log((alpha + T) / (alpha + t_x))
    return np.where(x > 0, expit(-log_odds_dropped), 1.0)


def _hyp_series(p, eps, c, z):
    """S = sum_{n>=1} (p)_n (1+eps)_{n-1} / ((c)_n n!) z^n, so that 2F1(p, eps; c; z) = 1 + eps S.

    Exact for every eps (including 0); summed until each account's terms are negligible.
    """
    term = p / c * z
    total = term.copy()
    active = np.flatnonzero(np.abs(term) > _SERIES_TOL * np.abs(total))
    n = 1
    while active.size and n < _SERIES_MAX_TERMS:
        n += 1
        term_a = term[active] * (p[active] + n - 1) * (eps + n - 1) / ((c[active] + n - 1) * n)
        term_a = term_a * z[active]
        term[active] = term_a
        total[active] += term_a
        keep = np.abs(term_a) > _SERIES_TOL * np.abs(total[active])
        active = active[keep]
    if active.size:
        total[active] = np.nan  # not converged (z very near 1): the caller interpolates
    return total


def _scaled_growth(params: BGNBDParams, x, T, t) -> np.ndarray:
    """G = [1 - (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)] / (a-1), z = t/(alpha+T+t).

    This is eq. 10's numerator after Euler's transformation
    2F1(A, B; C; z) = (1-z)^(C-A-B) 2F1(C-A, C-B; C; z): the original 2F1(r+x, b+x; ...)
    overflows for large x, this one stays near 1. Its limit at a = 1 is finite; near
    a = 1 it is summed from the series with the (a-1) factor taken out exactly, and so
    is any account where scipy's hyp2f1 gives up.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    eps = a - 1.0
    z = t / (alpha + T + t)
    log_1mz = np.log((alpha + T) / (alpha + T + t))
    p = np.full_like(x, a + b - 1.0 - r)
    c = a + b + x - 1.0
    if abs(eps) >= _NEAR_ONE:
        growth = _closed_form_growth(p, eps, c, z, log_1mz)
        # scipy's hyp2f1 returns inf for a few valid arguments (e.g. an integer first
        # parameter with z near 1); the series is exact there.
        bad = np.flatnonzero(~np.isfinite(growth))
        if bad.size:
            growth[bad] = _series_growth(p[bad], eps, c[bad], z[bad], log_1mz[bad])
        return growth
    growth = _series_growth(p, eps, c, z, log_1mz)
    slow = np.flatnonzero(np.isnan(growth))
    if slow.size:
        # z within ~1e-3 of 1 (a horizon far longer than alpha + T): G is smooth in a, so
        # interpolate between the closed forms just outside the near-one band.
        args = (p[slow], None, c[slow], z[slow], log_1mz[slow])
        below = _closed_form_growth(*_with_eps(args, -_NEAR_ONE))
        above = _closed_form_growth(*_with_eps(args, _NEAR_ONE))
        growth[slow] = below + (eps + _NEAR_ONE) / (2 * _NEAR_ONE) * (above - below)
    return growth


def _series_growth(p, eps, c, z, log_1mz):
    head = -log_1mz if eps == 0 else -np.expm1(eps * log_1mz) / eps
    return head - np.exp(eps * log_1mz) * _hyp_series(p, eps, c, z)


def _with_eps(args, eps):
    p, _, c, z, log_1mz = args
    return p, eps, c, z, log_1mz


def _closed_form_growth(p, eps, c, z, log_1mz):
    return (1.0 - np.exp(eps * log_1mz) * hyp2f1(p, eps, c, z)) / eps


def expected_orders(params: BGNBDParams, t, x, t_x, T) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchase occasions in the next t (eq. 10)."""
    x, t_x, T = _arrays(x, t_x, T)
    t = np.broadcast_to(np.asarray(t, dtype=float), x.shape)
    growth = _scaled_growth(params, x, T, t)
    return (params.a + params.b + x - 1.0) * growth * p_alive(params, x, t_x, T)


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
