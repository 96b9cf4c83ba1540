"""The workspace's next 90 days for the report: expected re-buyers and value at risk.

Sums the accounts' outlooks from the stored fit (`outlook.workspace_outlooks`); follows
the same freshness rule as the card: nothing once the fit has expired, "after 31 Mar"
wording when it is dated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date

from sqlmodel import Session

from bot.retention.facts import AccountFacts
from bot.retention.report_result import RebuyForecast
from models import ModelFit

from .outlook import with_outlook, workspace_outlooks


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
