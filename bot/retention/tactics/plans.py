"""The tactics an account plan uses: read as a list, written in the rep's order."""

from __future__ import annotations

from collections.abc import Sequence

from models import AccountPlan, AccountPlanTactic


def plan_tactic_ids(plan: AccountPlan) -> list[str]:
    """The plan's tactic ids, in the order the rep chose them."""
    return [row.tactic_id for row in plan.tactics]


def set_plan_tactic_ids(plan: AccountPlan, tactic_ids: Sequence[str]) -> None:
    """Make the plan use `tactic_ids`, in this order (rows are changed in place, so a
    plan saved twice never collides with its own old rows); the caller flushes."""
    rows = plan.tactics
    del rows[len(tactic_ids) :]
    for position, tactic_id in enumerate(tactic_ids):
        if position < len(rows):
            rows[position].tactic_id = tactic_id
        else:
            rows.append(AccountPlanTactic(position=position, tactic_id=tactic_id))
