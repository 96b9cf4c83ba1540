"""A stored re-buy model fit with the paper's CDNOW parameters, as `rebuy model fit` stores it."""

from __future__ import annotations

from datetime import date

from bot.db import Database
from bot.retention.rebuy_model import bgnbd, gamma_gamma
from bot.retention.rebuy_model.fit_job import store_fit
from bot.retention.rebuy_model.fitting import FitResult, SpendFit
from tests.support import factories as f

# The paper's CDNOW parameters (weeks) and Gamma-Gamma from the same sample.
CDNOW = bgnbd.BGNBDParams(r=0.2426, alpha=4.4136, a=0.7929, b=2.4259)
SPEND = gamma_gamma.GammaGammaParams(p=6.25, q=3.74, gamma=15.44)
CUTOFF = date(2026, 3, 31)  # the data cut-off; "now" (f.NOW) is 15 Jun 2026
CADENCE = {"key": 14, "mid": 30, "small": 60}


def stored_fit(
    db: Database,
    *,
    reliable: bool = True,
    valuable_from: float | None = 10.0,
    cutoff: date = CUTOFF,
):
    """A stored fit with the paper's parameters, as `rebuy model fit` would store it."""
    result = FitResult(
        r=CDNOW.r,
        alpha=CDNOW.alpha,
        a=CDNOW.a,
        b=CDNOW.b,
        log_likelihood=-9582.43,
        cutoff=cutoff,
        accounts=2357,
        repeaters=1000 if reliable else 12,
        fit_seconds=0.5,
        unit="weeks",
        reliable=reliable,
        reason="" if reliable else "only 12 accounts have ordered on more than one day",
        history_days=500,
        converged=True,
        spend=SpendFit(SPEND.p, SPEND.q, SPEND.gamma, reliable=True),
    )
    with db.transaction() as session:
        return store_fit(session=session, result=result, now=f.NOW, valuable=valuable_from)
