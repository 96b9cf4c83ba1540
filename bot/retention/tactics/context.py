"""The account's numbers a tactic rests on (`TacticContext`), the premises a tactic can
require (`PREMISES`), and the tactic's own `why` filled in with those numbers."""

from __future__ import annotations

import functools
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from bot.retention.dates import day_label
from bot.retention.tactics.tactic import Tactic

if TYPE_CHECKING:
    from bot.retention.facts import AccountFacts

# Every placeholder a tactic's `why` may use; TacticContext.values() fills those it can.
ALL_PLACEHOLDERS = (
    "occasions",
    "days_since_order",
    "order_gap_text",
    "days_since_touch",
    "touch_gap_text",
    "contacts_text",
    "last_6m",
    "prev_6m",
    "value_12m",
    "total",
    "value_at_stake",
    "drop",
    "usual_gap",
    "quiet_or_declining_text",
    "contract_end",
)


def _money(value: float) -> str:
    return f"${value:,.0f}"


@dataclass(frozen=True)
class TacticContext:
    """What a tactic's premise and why need to know about one account, as of a day."""

    occasions: int
    days_since_order: int | None
    days_since_touch: int | None
    contacts: int
    has_plan: bool
    value_last_6m: float
    value_prev_6m: float
    value_last_12m: float
    total_value: float
    usual_gap_days: float | None
    monetary_score: int = 0
    contract_end: date | None = None  # no contract data is kept yet: always None

    @classmethod
    def of(cls, facts: AccountFacts, *, as_of: date, monetary_score: int = 0) -> TacticContext:
        """From an account's facts (the rhythm loaded for the usual gap)."""
        last_order, last_touch = facts.last_order_day, facts.last_touch_at
        return cls(
            occasions=facts.occasions,
            days_since_order=(as_of - last_order).days if last_order else None,
            days_since_touch=(as_of - last_touch.date()).days if last_touch else None,
            contacts=facts.contacts_count,
            has_plan=facts.has_plan,
            value_last_6m=facts.value_last_6m,
            value_prev_6m=facts.value_prev_6m,
            value_last_12m=facts.value_last_12m,
            total_value=facts.total_value,
            usual_gap_days=facts.usual_gap_days if facts.occasions >= 3 else None,
            monetary_score=monetary_score,
        )

    @property
    def declining(self) -> bool:
        return self.value_prev_6m > 0 and self.value_last_6m < 0.5 * self.value_prev_6m

    @functools.cached_property
    def held_premises(self) -> frozenset[str]:
        """The PREMISES that hold for this account, worked out once (every tactic in the
        bank asks)."""
        return frozenset(name for name, (_, holds) in PREMISES.items() if holds(self))

    def values(self) -> dict[str, str]:
        """The why placeholders this account can fill; a missing one keeps its tactic out."""
        return dict(self.known_values)

    @functools.cached_property
    def known_values(self) -> dict[str, str]:
        """`values()` without the copy, worked out once per account (every tactic in the
        bank asks for them); callers must not change it."""
        return {
            **_gap_values(self),
            **_money_values(self),
            **_trend_values(self),
            **(
                {"contract_end": day_label(self.contract_end)}
                if self.contract_end is not None
                else {}
            ),
        }


# "{n} days" is only said for 2 days or more ("0 days ago", "bought on 1 days" never): a
# tactic whose why needs the number is left out below that.


def _gap_values(context: TacticContext) -> dict[str, str]:
    values: dict[str, str] = {}
    if context.occasions >= 2:
        values["occasions"] = f"{context.occasions:,}"
    since_order, since_touch = context.days_since_order, context.days_since_touch
    if since_order is not None:
        if since_order >= 2:
            values["days_since_order"] = f"{since_order:,}"
        values["order_gap_text"] = f"Last order {_days_ago(since_order)}"
    else:
        values["order_gap_text"] = "No order yet"
    if since_touch is not None:
        if since_touch >= 2:
            values["days_since_touch"] = f"{since_touch:,}"
        values["touch_gap_text"] = f"Your last touch was {_days_ago(since_touch)}"
    else:
        values["touch_gap_text"] = "No touch is logged on this account yet"
    if context.contacts:
        values["contacts_text"] = (
            "your one contact"
            if context.contacts == 1
            else f"the {context.contacts} contacts on file"
        )
    return values


def _money_values(context: TacticContext) -> dict[str, str]:
    amounts = {
        "last_6m": context.value_last_6m,
        "prev_6m": context.value_prev_6m,
        "value_12m": context.value_last_12m,
        "total": context.total_value,
        "value_at_stake": max(context.total_value, context.value_last_12m),
    }
    # "$0" or "$-4,800" is never cited as something they bought.
    return {name: _money(amount) for name, amount in amounts.items() if amount > 0}


def _trend_values(context: TacticContext) -> dict[str, str]:
    values: dict[str, str] = {}
    last, prev = context.value_last_6m, context.value_prev_6m
    if prev > 0 and last < prev:
        values["drop"] = f"{1 - max(last, 0) / prev:.0%}"
    if context.usual_gap_days:
        values["usual_gap"] = f"{context.usual_gap_days:.0f}"
    if context.declining and last > 0:
        values["quiet_or_declining_text"] = (
            f"They spent {_money(last)} in the last 6 months against {_money(prev)} in the 6 before"
        )
    elif context.days_since_order is not None and context.days_since_order >= 60:
        values["quiet_or_declining_text"] = f"No order in {context.days_since_order:,} days"
    return values


def _days_ago(days: int) -> str:
    """ "today", "yesterday", "12 days ago"."""
    if days <= 0:
        return "today"
    return "yesterday" if days == 1 else f"{days:,} days ago"


# A touch this recent makes "reopen the conversation" advice pointless.
TOUCH_LATELY_DAYS = 14


def _quiet(context: TacticContext, days: int) -> bool:
    return context.days_since_order is not None and context.days_since_order >= days


# Each premise: a plain statement about the account, and how to check it.
PREMISES: dict[str, tuple[str, Callable[[TacticContext], bool]]] = {
    "has_orders": ("it has bought at least once", lambda c: c.occasions >= 1),
    "no_orders": ("it has never bought", lambda c: c.occasions == 0),
    "one_occasion": ("it has bought on exactly one day", lambda c: c.occasions == 1),
    "repeat_buyer": ("it has bought on two days or more", lambda c: c.occasions >= 2),
    "recent_buyer": (
        "it bought in the last 90 days",
        lambda c: not _quiet(c, 91) and c.days_since_order is not None,
    ),
    "quiet_60d": ("no order in 60 days or more", lambda c: _quiet(c, 60)),
    "quiet_6m": ("no order in six months or more", lambda c: _quiet(c, 182)),
    "still_buying": ("it spent something in the last 6 months", lambda c: c.value_last_6m > 0),
    "declining": ("its spend halved against the 6 months before", lambda c: c.declining),
    "not_declining": ("its spend has not halved", lambda c: not c.declining),
    "quiet_or_declining": (
        "it buys far less, or has not ordered in 60 days",
        lambda c: (c.declining and c.value_last_6m > 0) or _quiet(c, 60),
    ),
    "has_rhythm": (
        "it has a usual gap between orders (3+ buying days)",
        lambda c: c.usual_gap_days is not None,
    ),
    "one_contact": ("exactly one contact is on file", lambda c: c.contacts == 1),
    "has_contact": ("someone is on file to talk to", lambda c: c.contacts >= 1),
    "touched_before": ("a touch has been logged", lambda c: c.days_since_touch is not None),
    "not_touched_lately": (
        f"no touch in the last {TOUCH_LATELY_DAYS} days",
        lambda c: c.days_since_touch is None or c.days_since_touch >= TOUCH_LATELY_DAYS,
    ),
    "long_gap_since_touch": (
        "no touch and no order for six months or more",
        lambda c: (
            (c.days_since_touch is None or c.days_since_touch >= 182)
            and (c.days_since_order is None or c.days_since_order >= 182)
        ),
    ),
    "big_account": ("among the top 40% by spend", lambda c: c.monetary_score >= 4),
    "no_plan": ("no account plan is set", lambda c: not c.has_plan),
    "contract_data": ("a contract end date is known", lambda c: c.contract_end is not None),
}


def premise_holds(tactic: Tactic, context: TacticContext) -> bool:
    """Every premise of the tactic holds, and its why can be said with this account's
    numbers."""
    if not context.held_premises.issuperset(tactic.requires):
        return False
    return _sayable(tactic.why, context)


def _sayable(template: str, context: TacticContext) -> bool:
    """The why has a text and the account fills every one of its placeholders (checked
    without formatting it: the recommender asks this of every tactic in the bank)."""
    return bool(template) and placeholders(template) <= context.known_values.keys()


@functools.lru_cache(maxsize=256)
def placeholders(template: str) -> frozenset[str]:
    """The {names} a why template uses."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)


def render_why(tactic: Tactic, context: TacticContext) -> str | None:
    """The tactic's why with the account's numbers, or None when it cannot be said."""
    if not _sayable(tactic.why, context):
        return None
    return tactic.why.format(**context.known_values)
