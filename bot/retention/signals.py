"""Signals, health and the next touch: what a rep should know about an account today."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from bot.retention.calendar import Calendars, WorkCalendar
from bot.retention.dates import day_label
from bot.retention.facts import AccountFacts, months_back
from bot.retention.results import AT_RISK_BELOW, Health, Signal, TouchSchedule
from bot.retention.wording import money, plural

SIGNAL_NAMES = (
    "dormant_6m",
    "dormant_12m",
    "dormant_18m",
    "declining",
    "off_rhythm",
    "touch_overdue",
    "single_threaded",
    "no_plan",
)
# From the re-buy model (rebuy_model.outlook), only when a reliable fit is stored.
MODEL_SIGNAL_NAMES = ("likely_lapsing",)

# How much each signal takes off a perfect health of 100.
PENALTIES = {
    "dormant_6m": 20,
    "dormant_12m": 35,
    "dormant_18m": 50,
    "declining": 20,
    "off_rhythm": 15,
    "touch_overdue": 10,
    "single_threaded": 10,
    "no_plan": 5,
    "likely_lapsing": 15,
}
# An overdue touch costs a point more per week late, up to this many extra points.
OVERDUE_EXTRA_MAX = 10
HEALTHY_FROM = 75
OFF_RHYTHM_FACTOR = 1.5


def _months_ago(days: int) -> str:
    if days < 45:
        return f"{plural(days, 'day')} ago"
    return f"{round(days / 30.44)} months ago"


def touch_schedule(
    facts: AccountFacts,
    *,
    as_of: date,
    tier_cadence: Mapping[str, int],
    calendars: Calendars | None = None,
) -> TouchSchedule:
    """Next touch = last touch + cadence, moved to the owner's next working day, unless a
    snooze pushes it later. Overdue counts the working days since.

    An account with no touch logged yet has no history to be late against: its first
    touch is due on the day the backlog plan gives it (`facts.first_touch_due`, see
    bot/retention/backlog.py; else the day it arrived) and it is never overdue.
    """
    if facts.cadence_days:
        cadence, source = facts.cadence_days, "account"
    else:
        cadence = tier_cadence.get(facts.tier) or max(tier_cadence.values())
        source = "tier"
    calendar = owner_calendar(facts, calendars)
    touched = facts.last_touch_at is not None
    if touched:
        due = calendar.next_working_day(facts.last_touch_at.date() + timedelta(days=cadence))
    else:
        due = facts.first_touch_due or calendar.next_working_day(facts.created_at.date())
    snoozed = facts.snoozed_until if facts.snoozed_until and facts.snoozed_until > due else None
    if snoozed:
        due = snoozed
    return TouchSchedule(
        cadence_days=cadence,
        cadence_source=source,
        next_touch_due=due,
        snoozed_until=snoozed,
        days_overdue=calendar.working_days_after(due, as_of) if touched else 0,
        touched=touched,
    )


def owner_calendar(facts: AccountFacts, calendars: Calendars | None) -> WorkCalendar:
    """The working days of the account's owner (weekends only when nothing is known)."""
    return (calendars or Calendars()).of(facts.owner_country, facts.owner_subdivision)


def dormancy(facts: AccountFacts, *, as_of: date) -> Signal | None:
    """The deepest dormancy bucket the account falls in (they are exclusive)."""
    last = facts.last_order_day
    for months, name in ((18, "dormant_18m"), (12, "dormant_12m"), (6, "dormant_6m")):
        if last is None or last < months_back(as_of, months):
            if last is None:
                reason = "No order on record yet."
            else:
                days = (as_of - last).days
                reason = (
                    f"No order in over {months} months: the last was on "
                    f"{day_label(last)} ({_months_ago(days)})."
                )
            return Signal(name, reason, PENALTIES[name])
    return None


def is_declining(facts: AccountFacts) -> bool:
    """The last 6 months' net spend is under half of the 6 months before."""
    return facts.value_prev_6m > 0 and facts.value_last_6m < 0.5 * facts.value_prev_6m


def compute_signals(facts: AccountFacts, *, as_of: date, schedule: TouchSchedule) -> list[Signal]:
    """Every signal that applies, each with a reason a rep can read. Needs the rhythm
    loaded (`with_order_days=True`) for off-rhythm."""
    signals: list[Signal] = []
    dormant = dormancy(facts, as_of=as_of)
    if dormant:
        signals.append(dormant)

    if is_declining(facts):
        drop = 1 - facts.value_last_6m / facts.value_prev_6m
        bought_lately = facts.last_order_day is not None and facts.last_order_day >= months_back(
            as_of, 6
        )
        if facts.value_last_6m > 0:
            reason = (
                f"Buying far less: {money(facts.value_last_6m)} in the last 6 months against "
                f"{money(facts.value_prev_6m)} in the 6 before ({drop:.0%} down)."
            )
        elif bought_lately:
            # Orders in the last 6 months, outweighed by credits: not "nothing bought".
            reason = (
                f"Buying far less: credits outweigh the orders of the last 6 months "
                f"({money(facts.value_last_6m)} net) against "
                f"{money(facts.value_prev_6m)} in the 6 before."
            )
        else:
            reason = (
                f"Stopped buying: nothing in the last 6 months after "
                f"{money(facts.value_prev_6m)} in the 6 before."
            )
        signals.append(Signal("declining", reason, PENALTIES["declining"]))

    gap = facts.usual_gap_days
    # Needs three buying days (occasions), not three order rows.
    if facts.occasions >= 3 and gap and facts.last_order_day is not None:
        since = (as_of - facts.last_order_day).days
        if since > OFF_RHYTHM_FACTOR * gap:
            signals.append(
                Signal(
                    "off_rhythm",
                    f"Usually orders every {plural(round(gap), 'day')}; it has been "
                    f"{plural(since, 'day')} since the last order.",
                    PENALTIES["off_rhythm"],
                )
            )

    if schedule.overdue:
        late = schedule.days_overdue
        extra = min(OVERDUE_EXTRA_MAX, late // 7)
        due = schedule.next_touch_due
        due_text = day_label(due, year=due.year != as_of.year)
        signals.append(
            Signal(
                "touch_overdue",
                f"Touch overdue by {plural(late, 'working day')} "
                f"(due {due_text}, every {plural(schedule.cadence_days, 'day')}).",
                PENALTIES["touch_overdue"] + extra,
            )
        )

    if facts.contacts_count < 2:
        # Zero contacts is worse than one: nobody to call at all, so it says so.
        reason = (
            "No contact on file: nobody at the customer to call."
            if facts.contacts_count == 0
            else "Single-threaded: one contact on file, so one departure could lose the account."
        )
        signals.append(Signal("single_threaded", reason, PENALTIES["single_threaded"]))

    if not facts.has_plan:
        signals.append(
            Signal(
                "no_plan",
                "No account plan yet: no agreed goal for the next months.",
                PENALTIES["no_plan"],
            )
        )
    return signals


def health_of(signals: list[Signal]) -> Health:
    """100 minus each signal's penalty, floored at 0, with the reasons behind it."""
    score = max(0, 100 - sum(signal.penalty for signal in signals))
    if score >= HEALTHY_FROM:
        band = "healthy"
    elif score >= AT_RISK_BELOW:
        band = "watch"
    else:
        band = "at risk"
    reasons = [f"−{signal.penalty}: {signal.reason}" for signal in signals]
    if not reasons:
        reasons = ["Buying on rhythm, touched within cadence, well connected and planned."]
    return Health(score=score, band=band, reasons=reasons)
