"""Which accounts each rep should contact today, most valuable and most overdue first."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from bot.retention.facts import AccountFacts, load_facts
from bot.retention.signals import (
    Health,
    Signal,
    TouchSchedule,
    compute_signals,
    day_label,
    health_of,
)
from bot.retention.signals import touch_schedule as schedule_of
from bot.retention.tactics import TacticPick, recommend_tactics


@dataclass
class DueAccount:
    facts: AccountFacts
    schedule: TouchSchedule
    signals: list[Signal]
    health: Health
    priority: float
    tactic: TacticPick | None = None

    @property
    def account_id(self) -> int:
        return self.facts.id

    @property
    def name(self) -> str:
        return self.facts.name

    @property
    def why(self) -> list[str]:
        """The reasons it is due, most important first, in words."""
        order = sorted(self.signals, key=lambda signal: -signal.penalty)
        reasons = [signal.reason for signal in order]
        if not self.schedule.overdue:
            last = self.facts.last_touch_at
            since = f"last touch {day_label(last.date())}" if last else "no touch logged yet"
            reasons.insert(0, f"Due today: {since}, every {self.schedule.cadence_days} days.")
        return reasons


def priority(facts: AccountFacts, schedule: TouchSchedule) -> float:
    """Value a year, boosted by how late the touch is (up to 4x at three cadences late)."""
    lateness = min(schedule.days_overdue, 3 * schedule.cadence_days) / schedule.cadence_days
    return max(facts.value, 1.0) * (1 + lateness)


def due_by_rep(
    *,
    session: Session,
    as_of: date,
    now: datetime,
    tier_cadence: Mapping[str, int],
    limit: int,
    owner_ids: Collection[int] | None = None,
    with_tactics: bool = True,
) -> dict[int, list[DueAccount]]:
    """For each rep (owner id), up to `limit` accounts whose next touch is due on or
    before `as_of`, ranked. Reps with nothing due are left out."""
    if owner_ids is not None and len(owner_ids) == 1:
        facts = load_facts(session=session, as_of=as_of, owner_id=next(iter(owner_ids)))
    else:
        facts = load_facts(session=session, as_of=as_of)
    wanted = set(owner_ids) if owner_ids is not None else None

    candidates: dict[int, list[tuple[float, int, AccountFacts, TouchSchedule]]] = defaultdict(list)
    for fact in facts.values():
        if fact.owner_id is None or (wanted is not None and fact.owner_id not in wanted):
            continue
        schedule = schedule_of(fact, as_of=as_of, tier_cadence=tier_cadence)
        if schedule.next_touch_due <= as_of:
            candidates[fact.owner_id].append(
                (priority(fact, schedule), schedule.days_overdue, fact, schedule)
            )

    chosen: dict[int, list[tuple[float, AccountFacts, TouchSchedule]]] = {}
    for owner_id, rows in candidates.items():
        rows.sort(key=lambda row: (-row[0], -row[1], row[2].name.casefold()))
        chosen[owner_id] = [(p, fact, schedule) for p, _, fact, schedule in rows[:limit]]

    # Off-rhythm needs each chosen account's order days: one more query for them all.
    ids = [fact.id for rows in chosen.values() for _, fact, _ in rows]
    detailed = load_facts(session=session, as_of=as_of, account_ids=ids, with_order_days=True)
    result: dict[int, list[DueAccount]] = {}
    for owner_id, rows in chosen.items():
        due = []
        for p, fact, schedule in rows:
            fact = detailed.get(fact.id, fact)
            signals = compute_signals(fact, as_of=as_of, schedule=schedule)
            item = DueAccount(fact, schedule, signals, health_of(signals), p)
            if with_tactics:
                picks = recommend_tactics(
                    session=session,
                    account_id=fact.id,
                    signals=[signal.name for signal in signals],
                    segment=None,
                    now=now,
                    limit=1,
                )
                item.tactic = picks[0] if picks else None
            due.append(item)
        result[owner_id] = due
    return result
