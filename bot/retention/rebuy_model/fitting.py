"""One fit of the re-buy models for a workspace, whether to trust it, and scoring with it.

`fit_rebuy_model` fits BG/NBD on every account and Gamma-Gamma on the repeaters, then
applies the reliability rules: a fit is shown to reps only when there is enough data
(at least MIN_REPEATERS accounts with a repeat occasion and MIN_HISTORY_DAYS of order
history), the optimiser converged to a non-degenerate point (a and b at most
MAX_DROPOUT_PARAM) and every account's score is finite. Otherwise `reliable` is False
and `reason` says why, in words the CLI can print as they are.

`FitResult` is plain data and round-trips through JSON, so it can be stored and the
scores computed on demand later.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np

from . import bgnbd, gamma_gamma
from .inputs import ModelInputs
from .result import FitResult, SpendFit
from .scores import Scores, score_accounts

__all__ = ["FitResult", "Scores", "SpendFit", "fit_rebuy_model", "score_accounts"]

MIN_REPEATERS = 250
MIN_HISTORY_DAYS = 182  # about six months
MAX_DROPOUT_PARAM = 50.0
DEFAULT_HORIZON_DAYS = 90


def _spend_fit(inputs: ModelInputs) -> SpendFit | None:
    # Accounts whose repeat days are known to be worth something (x > 0, a mean above 0).
    repeat = (inputs.x > 0) & (inputs.mean_value > 0)
    if not repeat.any():
        return None
    result = gamma_gamma.fit(inputs.x[repeat], inputs.mean_value[repeat])
    params = result.params
    if not result.converged:
        reason = f"the spend model did not converge ({result.message})"
    elif params.q <= 1:
        reason = f"the spend model has q = {params.q:.2f} (at most 1): no expected value"
    else:
        reason = ""
    return SpendFit(params.p, params.q, params.gamma, reliable=not reason, reason=reason)


def _reliability(fit: bgnbd.BGNBDFit, inputs: ModelInputs) -> str:
    """The first reason not to show the fit, or "" when it can be shown."""
    months = inputs.history_days / 30.44
    if inputs.repeaters < MIN_REPEATERS:
        return (
            f"only {inputs.repeaters} accounts have ordered on more than one day "
            f"(the model needs at least {MIN_REPEATERS})"
        )
    if inputs.history_days < MIN_HISTORY_DAYS:
        return f"the order history covers {months:.1f} months (the model needs at least 6)"
    params = fit.params
    for name, value in (("a", params.a), ("b", params.b)):
        if not value <= MAX_DROPOUT_PARAM:
            return (
                f"the fit is degenerate: {name} = {value:.3g} (above {MAX_DROPOUT_PARAM:g}), "
                "so the data cannot tell who has stopped buying"
            )
    if not fit.converged:
        return f"the fit did not converge (optimiser: {fit.message})"
    values = (params.r, params.alpha, params.a, params.b, fit.log_likelihood)
    if not all(math.isfinite(v) for v in values):
        return "the fit produced a non-finite parameter or likelihood"
    return ""


def fit_rebuy_model(
    inputs: ModelInputs, *, horizon_days: float = DEFAULT_HORIZON_DAYS
) -> FitResult:
    """Fit BG/NBD (and Gamma-Gamma on the repeaters) to the inputs and judge the fit."""
    started = time.perf_counter()
    if len(inputs) == 0:
        return FitResult(
            r=math.nan,
            alpha=math.nan,
            a=math.nan,
            b=math.nan,
            log_likelihood=math.nan,
            cutoff=inputs.cutoff,
            accounts=0,
            repeaters=0,
            fit_seconds=time.perf_counter() - started,
            unit=inputs.unit,
            reliable=False,
            reason="there are no orders on or before the data cut-off",
        )
    fit = bgnbd.fit(inputs.x, inputs.t_x, inputs.T)
    spend = _spend_fit(inputs)
    reason = _reliability(fit, inputs)
    result = FitResult(
        r=fit.params.r,
        alpha=fit.params.alpha,
        a=fit.params.a,
        b=fit.params.b,
        log_likelihood=fit.log_likelihood,
        cutoff=inputs.cutoff,
        accounts=len(inputs),
        repeaters=inputs.repeaters,
        fit_seconds=0.0,
        unit=inputs.unit,
        reliable=not reason,
        reason=reason,
        history_days=inputs.history_days,
        converged=fit.converged,
        spend=spend,
    )
    if not reason:
        scores = score_accounts(result, inputs, horizon_days=horizon_days)
        bad = ~(
            np.isfinite(scores.p_alive)
            & np.isfinite(scores.expected_orders)
            & np.isfinite(scores.chance_of_order)
        )
        if bad.any():
            reason = f"the scores of {int(bad.sum())} accounts are not finite"
    return replace(
        result,
        reliable=not reason,
        reason=reason,
        fit_seconds=time.perf_counter() - started,
    )
