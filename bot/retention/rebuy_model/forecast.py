"""The workspace's next 90 days for the report: expected re-buyers and value at risk.

Sums the accounts' outlooks from the stored fit (`outlook.workspace_outlooks`); follows
the same freshness rule as the card: nothing once the fit has expired, "after 31 Mar"
wording when it is dated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from bot.retention.facts import AccountFacts
from models import ModelFit

from .outlook import HORIZON_DAYS, with_outlook, workspace_outlooks
from .words import about_money, short_day


@dataclass(frozen=True)
class RebuyForecast:
    """The next 90 days across the workspace, from the stored fit."""

    fit_id: int
    fit: dict
    expected_rebuyers: float  # the sum of the accounts' chances of an order
    scored_accounts: int
    value_at_risk: float  # a quarter's value x the chance of no order, summed
    accounts: list[dict]
    cutoff: date
    dated: bool = False  # the fit is not current: the figures are as of its cut-off
    horizon_days: int = HORIZON_DAYS

    def heading(self) -> str:
        """ "Expected to re-buy in the next 90 days" (or "in the 90 days after 31 Mar")."""
        if self.dated:
            return (
                f"Expected to re-buy in the {self.horizon_days} days after {short_day(self.cutoff)}"
            )
        return f"Expected to re-buy in the next {self.horizon_days} days"

    def rebuyers_text(self) -> str:
        """ "about 12 of 240"; "less than one of 240" rather than "about 0"."""
        if self.expected_rebuyers < 0.5:
            return f"less than one of {self.scored_accounts:,}"
        return f"about {self.expected_rebuyers:,.0f} of {self.scored_accounts:,}"

    def value_at_risk_text(self) -> str:
        return about_money(self.value_at_risk)

    def to_dict(self) -> dict:
        return {
            "fit_id": self.fit_id,
            "fit": self.fit,
            "cutoff": self.cutoff.isoformat(),
            "as_of_cutoff": self.dated,
            "horizon_days": self.horizon_days,
            "expected_rebuyers": round(self.expected_rebuyers, 1),
            "scored_accounts": self.scored_accounts,
            "value_at_risk": round(self.value_at_risk, 2),
            "accounts": self.accounts,
        }


def rebuy_forecast(
    *, session: Session, facts: Mapping[int, AccountFacts], as_of: date
) -> RebuyForecast | None:
    """Expected re-buyers and value at risk over the accounts in `facts`; None when no
    reliable fit is stored, `as_of` is before its data cut-off, or the fit has expired."""
    from bot.retention.urgency import value_at_stake

    outlooks = workspace_outlooks(session=session)
    if not outlooks:
        return None
    _, first = with_outlook([], next(iter(outlooks.values())), as_of=as_of)
    if first is None:
        return None
    rebuyers = 0.0
    at_risk = 0.0
    accounts = []
    for account_id, fact in facts.items():
        seen = outlooks.get(account_id)
        if seen is None:
            continue
        rebuyers += seen.chance
        at_risk += value_at_stake(fact) / 4 * (1 - seen.chance)
        accounts.append({"id": account_id, "name": fact.name, **seen.to_dict()})
        accounts[-1]["as_of_cutoff"] = first.dated
    stored = session.get(ModelFit, first.fit_id)
    return RebuyForecast(
        fit_id=first.fit_id,
        fit=json.loads(stored.result_json),
        expected_rebuyers=rebuyers,
        scored_accounts=len(accounts),
        value_at_risk=at_risk,
        accounts=accounts,
        cutoff=first.cutoff,
        dated=first.dated,
    )
