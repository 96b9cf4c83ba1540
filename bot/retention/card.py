"""The account status card's content, as plain data: what the Block Kit and terminal
renderers read. No database here (no SQLAlchemy, SQLModel, models or bot.db, also not
indirectly; a test checks it), so the messages layer can render a card without them.
`bot/retention/status.py` computes it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from bot.retention.segments import SEGMENT_MEANINGS

if TYPE_CHECKING:
    from bot.retention.facts import AccountFacts
    from bot.retention.rebuy_model.outlook import Outlook
    from bot.retention.rfm import Rfm
    from bot.retention.signals import Health, Signal, TouchSchedule
    from bot.retention.tactics import TacticPick


@dataclass(frozen=True)
class Person:
    name: str
    title: str | None
    email: str | None


@dataclass(frozen=True)
class LastTouch:
    at: datetime
    kind: str
    by: str | None  # the rep's name, else e-mail, else Slack user id
    by_slack_user_id: str | None
    note: str | None
    source: str


@dataclass(frozen=True)
class Plan:
    current_state: str
    target_state: str
    horizon: date
    tactic_ids: list[str]
    updated_by: str | None
    updated_at: datetime


# After an owner's name on the card when they have left (reps sync found them deleted in
# Slack): reminders go to active reps only.
OWNER_LEFT = "no longer in Slack: nobody is reminded of this account"


@dataclass
class AccountStatus:
    """Plain data for the status card; `to_dict()` is the `--json` shape."""

    id: int
    name: str
    external_id: str
    tier: str
    owner_email: str | None
    owner_name: str | None
    owner_slack_user_id: str | None
    annual_value: float | None
    facts: AccountFacts
    schedule: TouchSchedule
    signals: list[Signal]
    health: Health
    rfm: Rfm
    last_order_amount: float | None
    last_touch: LastTouch | None
    contacts: list[Person]
    plan: Plan | None
    tactics: list[TacticPick] = field(default_factory=list)
    as_of: date | None = None
    # False when the owner has left (no longer in Slack): nobody is reminded of the account.
    owner_active: bool = True
    # The re-buy model's outlook; None when no reliable fit is stored.
    outlook: Outlook | None = None

    @property
    def signal_names(self) -> list[str]:
        return [signal.name for signal in self.signals]

    @property
    def single_threaded(self) -> bool:
        return "single_threaded" in self.signal_names

    def to_dict(self) -> dict:
        facts, touch = self.facts, self.last_touch
        return {
            "id": self.id,
            "name": self.name,
            "external_id": self.external_id,
            "owner": self.owner_email,
            "owner_name": self.owner_name,
            "owner_slack_user_id": self.owner_slack_user_id,
            "owner_active": self.owner_active if self.owner_email else None,
            "tier": self.tier,
            "annual_value": self.annual_value,
            "as_of": _iso(self.as_of),
            "last_order_at": _iso(facts.last_order_at),
            "last_order_amount": self.last_order_amount,
            "orders_count": facts.orders_count,
            "purchase_occasions": facts.occasions,
            "credit_rows": facts.credit_rows,
            "zero_amount_rows": facts.zero_rows,
            "orders_text": facts.orders_text,
            "total_value": round(facts.total_value, 2),
            "value_last_12m": round(facts.value_last_12m, 2),
            "last_touch_at": _iso(touch.at if touch else None),
            "last_touch": None
            if touch is None
            else {
                "at": _iso(touch.at),
                "kind": touch.kind,
                "by": touch.by,
                "note": touch.note,
                "source": touch.source,
            },
            "touches_count": facts.touches_count,
            "cadence_days": self.schedule.cadence_days,
            "next_touch_due": _iso(self.schedule.next_touch_due),
            "days_overdue": self.schedule.days_overdue,
            "snoozed_until": _iso(self.schedule.snoozed_until),
            "segment": self.rfm.segment,
            "rfm": self.rfm.to_dict(),
            "health": self.health.to_dict(),
            "signals": self.signal_names,
            "signal_reasons": {signal.name: signal.reason for signal in self.signals},
            "tactics": [pick.to_dict() for pick in self.tactics],
            "rebuy": self.outlook.to_dict() if self.outlook else None,
            "contacts": [
                {"name": p.name, "title": p.title, "email": p.email} for p in self.contacts
            ],
            "plan": None
            if self.plan is None
            else {
                "from": self.plan.current_state,
                "to": self.plan.target_state,
                "horizon": _iso(self.plan.horizon),
                "tactics": self.plan.tactic_ids,
                "updated_by": self.plan.updated_by,
                "updated_at": _iso(self.plan.updated_at),
            },
        }

    @property
    def segment_meaning(self) -> str:
        return SEGMENT_MEANINGS.get(self.rfm.segment, "")


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
