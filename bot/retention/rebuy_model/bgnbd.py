"""The BG/NBD model: who is still a customer, and how many orders to expect from them.

Fader, Hardie & Lee (2005), "'Counting Your Customers' the Easy Way: An Alternative to
the Pareto/NBD Model", Marketing Science 24(2), 275-284 (equations 6, 10 and 13 below
refer to it); P(alive) as in Fader, Hardie & Lee, "Computing P(alive) Using the BG/NBD
Model" (brucehardie.com note 021).

A customer's history is (x, t_x, T): x repeat purchase occasions, the last of them at
t_x, and T the time from the first occasion to the data cut-off, in one time unit.
While alive, a customer buys at rate lambda ~ Gamma(r, alpha); after each repeat
purchase they drop out with probability p ~ Beta(a, b).

Scoring (P(alive), expected orders, the chance of an order) lives in `scores` (numpy
only) and is re-exported here. Everything is vectorised over accounts (numpy arrays in,
arrays out) and works in logs so that large frequencies and long histories stay finite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, digamma, gammaln

from .optimise import minimise
from .result import BGNBDParams
from .scores import (  # noqa: F401  (scoring lives in `scores`, numpy only)
    chance_of_order,
    expected_orders,
    expected_orders_new_customer,
    p_alive,
)

DEFAULT_MAX_ITERATIONS = 500


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
    result = minimise(
        _negative_ll_and_gradient,
        size=4,
        args=(px, pt_x * scale, pT * scale, weights, weights.sum()),
        max_iterations=max_iterations,
    )
    r, alpha, a, b = (float(v) for v in np.exp(result.log_params))
    params = BGNBDParams(r=r, alpha=alpha / scale, a=a, b=b)
    return BGNBDFit(
        params=params,
        log_likelihood=log_likelihood(params, px, pt_x, pT, weights),
        converged=result.converged,
        iterations=result.iterations,
        message=result.message,
    )
