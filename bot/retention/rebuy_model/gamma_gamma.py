"""The Gamma-Gamma spend model: what an account's next order is likely to be worth.

Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base
Analysis", Journal of Marketing Research 42(4), 415-430, and Fader & Hardie, "The
Gamma-Gamma Model of Monetary Value" (brucehardie.com note 025).

An account's order values are Gamma(p, nu) around its own mean p/nu, and nu varies
across accounts as Gamma(q, gamma). Fitted on accounts with at least one repeat
occasion, from x (repeat occasions) and m (their mean value).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, gammaln

from .optimise import minimise
from .result import GammaGammaParams
from .scores import expected_order_value  # noqa: F401  (numpy only, for scoring)

DEFAULT_MAX_ITERATIONS = 500


@dataclass(frozen=True)
class GammaGammaFit:
    params: GammaGammaParams
    log_likelihood: float
    converged: bool
    iterations: int
    message: str


def _log_terms(p, q, g, x, m):
    # Density of the mean m of x Gamma(p, nu) values, nu ~ Gamma(q, g) integrated out.
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(g)
        + (px - 1.0) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(g + m * x)
    )


def log_likelihood(params: GammaGammaParams, x, m) -> float:
    """Summed log-likelihood of the accounts' (x, mean repeat value); x >= 1, m > 0."""
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    return float(_log_terms(params.p, params.q, params.gamma, x, m).sum())


def _negative_ll_and_gradient(log_params, x, m, n):
    p, q, g = np.exp(log_params)
    ll = _log_terms(p, q, g, x, m)
    value = float(ll.sum())
    if not np.isfinite(value):
        return math.inf, np.zeros(3)
    px = p * x
    log_g_mx = np.log(g + m * x)
    common = digamma(px + q)
    d_p = x * (common - digamma(px) + np.log(m) + np.log(x) - log_g_mx)
    d_q = common - digamma(q) + np.log(g) - log_g_mx
    d_g = q / g - (px + q) / (g + m * x)
    grad = np.array([p * d_p.sum(), q * d_q.sum(), g * d_g.sum()])
    return -value / n, -grad / n


def fit(x, m, *, max_iterations: int = DEFAULT_MAX_ITERATIONS) -> GammaGammaFit:
    """Maximum-likelihood fit of (p, q, gamma) over log-parameters.

    Values are rescaled to mean 1 while fitting (only gamma carries the currency scale).
    """
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    if x.size == 0:
        raise ValueError("cannot fit the Gamma-Gamma model to no repeat customers")
    if not (np.all(x >= 1) and np.all(np.isfinite(m)) and np.all(m > 0)):
        raise ValueError("the Gamma-Gamma model needs x >= 1 and a positive mean value")
    scale = float(m.mean())
    result = minimise(
        _negative_ll_and_gradient,
        size=3,
        args=(x, m / scale, x.size),
        max_iterations=max_iterations,
    )
    p, q, g = (float(v) for v in np.exp(result.log_params))
    params = GammaGammaParams(p=p, q=q, gamma=g * scale)
    return GammaGammaFit(
        params=params,
        log_likelihood=log_likelihood(params, x, m),
        converged=result.converged,
        iterations=result.iterations,
        message=result.message,
    )
