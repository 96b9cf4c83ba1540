"""Maximum likelihood over log-parameters with L-BFGS-B, shared by both models' fits.

scipy.optimize is imported when a fit runs, never when a module is imported: scoring a
card must not load it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LOG_PARAM_BOUND = 15.0
# At the optimum of a per-account mean log-likelihood the gradient is this small or less;
# L-BFGS-B sometimes stops there with "ABNORMAL" (the line search cannot improve on
# rounding), which is a converged fit, not a failed one.
GRADIENT_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Optimum:
    log_params: np.ndarray
    converged: bool
    iterations: int
    message: str


def minimise(objective, *, size: int, args: tuple, max_iterations: int) -> Optimum:
    """Minimise `objective(log_params, *args) -> (value, gradient)` from all zeros."""
    from scipy.optimize import minimize

    result = minimize(
        objective,
        x0=np.zeros(size),
        args=args,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-LOG_PARAM_BOUND, LOG_PARAM_BOUND)] * size,
        options={"maxiter": max_iterations, "ftol": 1e-13, "gtol": 1e-9},
    )
    gradient = np.asarray(result.jac, dtype=float)
    settled = bool(np.all(np.isfinite(gradient)) and np.max(np.abs(gradient)) < GRADIENT_TOLERANCE)
    converged = bool(result.success) or bool(settled and np.isfinite(result.fun))
    return Optimum(
        log_params=np.asarray(result.x, dtype=float),
        converged=converged,
        iterations=int(result.nit),
        message=str(result.message),
    )
