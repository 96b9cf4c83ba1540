"""One urgency order, one heading per account, each fact once in a reminder."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.retention.facts import AccountFacts
from bot.retention.results import reasons_once
from bot.retention.signals import compute_signals, health_of, touch_schedule
from bot.retention.urgency import one_heading_each, urgency_key
from bot.retention.wording import plural

AS_OF = date(2026, 6, 15)
TIERS = {"key": 14, "mid": 30, "small": 60}


def _facts(name: str, **values) -> AccountFacts:
    base = dict(
        id=hash(name) % 1000,
        external_id=name,
        name=name,
        tier="mid",
        owner_id=1,
        annual_value=None,
        cadence_days=None,
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
        contacts_count=3,
        has_plan=True,
    )
    base.update(values)
    return AccountFacts(**base)


def _assess(fact: AccountFacts):
    schedule = touch_schedule(fact, as_of=AS_OF, tier_cadence=TIERS)
    signals = compute_signals(fact, as_of=AS_OF, schedule=schedule)
    return schedule, signals, health_of(signals)


def test_an_at_risk_account_long_overdue_ranks_above_a_healthy_one_slightly_overdue() -> None:
    healthy = _facts(
        "Healthy",
        last_touch_at=datetime(2026, 4, 1, tzinfo=UTC),  # 45 days: 15 overdue
        last_order_at=datetime(2026, 6, 1, tzinfo=UTC),
        occasions=10,
        value_last_12m=30_000,
        value_last_6m=15_000,
        value_prev_6m=15_000,
        window_value=60_000,
    )
    at_risk = _facts(
        "At Risk",
        last_touch_at=datetime(2025, 3, 19, tzinfo=UTC),  # 453 days: 423 overdue
        last_order_at=datetime(2025, 2, 17, tzinfo=UTC),
        occasions=6,
        value_last_12m=0,
        window_value=40_000,
        contacts_count=1,
    )
    ranked = sorted([healthy, at_risk], key=lambda fact: urgency_key(fact, *_assess(fact)[::2]))
    assert [fact.name for fact in ranked] == ["At Risk", "Healthy"]
    _, signals, health = _assess(at_risk)
    assert health.band == "at risk"
    reasons = reasons_once(signals, overdue_in_header=True)
    assert not any("overdue" in reason.lower() for reason in reasons)
    assert not any("Usually orders" in reason for reason in reasons)
    assert sum("12 months" in reason for reason in reasons) == 1


def test_each_account_once_under_its_most_urgent_heading() -> None:
    marks = {"a": {"at-risk", "dormant", "overdue"}, "b": {"overdue", "due"}, "c": set()}
    placed = one_heading_each(marks, lambda name, heading: heading in marks[name])
    assert placed == {"at-risk": ["a"], "dormant": [], "overdue": ["b"], "due": []}


def test_wording_helpers() -> None:
    assert plural(1, "rep") == "1 rep"
    assert plural(2, "rep") == "2 reps"
    assert plural(1_204, "account") == "1,204 accounts"
    # Streak wording is the messages' (tests/messages/test_format.py).
