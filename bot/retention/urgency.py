"""One urgency order for every list, the Home tab and reminders.

Urgency = value at risk x how late:

- value at risk = what the account is worth a year (the CRM's annual value, else the
  larger of the last 12 months' spend and the RFM window's yearly average, so a
  dormant account keeps the value it used to bring, at least $1) x the share of it at
  risk, (100 - health) / 100, never under 0.1 (a healthy account is not risk-free);
- how late = 1 + days overdue / cadence, capped at 4 (three cadences late).

When the re-buy model is shown (a reliable stored fit), the share at risk is the model's
chance that the account places no order in the next 90 days: the **expected value at
risk**. Reminders are ordered by it.

Most urgent first; ties go to the longer overdue, then the name. Each account appears
once per view, under the most urgent heading it qualifies for (`one_heading_each`),
and a reminder says each fact once (`results.reasons_once`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, TypeVar

from bot.retention.facts import RFM_WINDOW_MONTHS, AccountFacts
from bot.retention.signals import Health, TouchSchedule

if TYPE_CHECKING:
    from bot.retention.rebuy_model.outlook import Outlook

MIN_RISK_SHARE = 0.1
MAX_LATENESS = 4.0
# Headings of a view, most urgent first.
HEADINGS = ("at-risk", "dormant", "overdue", "due")

T = TypeVar("T")


def value_at_stake(facts: AccountFacts) -> float:
    """What the account is worth a year, even when it has gone quiet."""
    if facts.annual_value is not None:
        return max(facts.annual_value, 1.0)
    yearly = facts.window_value * 12 / RFM_WINDOW_MONTHS
    return max(facts.value_last_12m, yearly, 1.0)


def share_at_risk(outlook: Outlook | None) -> float:
    """With the re-buy model shown: the chance of no order in the next 90 days (never
    under 0.1); without it, 1 (the health share decides)."""
    if outlook is None:
        return 1.0
    return max(MIN_RISK_SHARE, 1.0 - outlook.chance)


def expected_value_at_risk(facts: AccountFacts, outlook: Outlook) -> float:
    """A year's value x the chance the account does not order in the next 90 days."""
    return value_at_stake(facts) * share_at_risk(outlook)


def urgency(
    facts: AccountFacts, schedule: TouchSchedule, health: Health, outlook: Outlook | None = None
) -> float:
    """Value at risk x how late (see the module docstring); with the re-buy model's
    outlook the share at risk is the chance of no order in the next 90 days."""
    if outlook is not None:
        at_risk = share_at_risk(outlook)
    else:
        at_risk = max(MIN_RISK_SHARE, (100 - health.score) / 100)
    lateness = min(MAX_LATENESS, 1 + schedule.days_overdue / max(schedule.cadence_days, 1))
    return value_at_stake(facts) * at_risk * lateness


def urgency_key(
    facts: AccountFacts, schedule: TouchSchedule, health: Health, outlook: Outlook | None = None
) -> tuple:
    """Sort key, most urgent first."""
    return (
        -urgency(facts, schedule, health, outlook),
        -schedule.days_overdue,
        facts.name.casefold(),
    )


def one_heading_each(
    items: Iterable[T],
    qualifies: Callable[[T, str], bool],
    headings: Sequence[str] = HEADINGS,
) -> dict[str, list[T]]:
    """Each item under the first (most urgent) heading it qualifies for, and no other."""
    placed: dict[str, list[T]] = {heading: [] for heading in headings}
    for item in items:
        for heading in headings:
            if qualifies(item, heading):
                placed[heading].append(item)
                break
    return placed
