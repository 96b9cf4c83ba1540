"""The first touches of accounts nobody has touched yet, spread over a cadence.

An import brings a rep hundreds of accounts with no touch history. Calling them all
due (or, worse, overdue since their last order) on the first morning is a wall of red
the rep ignores. Instead each *batch* (the accounts one rep received on one day) is
planned over the first cadence period, most urgent first (`urgency`: value at risk),
a fixed number of accounts per working day: a dormant valuable account comes up in
the first days, the quiet small ones towards the end of the cadence, and every one
of them within it.

The plan is recomputed from the data every time (no stored state): a batch's daily
quota comes from its full size, so touching accounts only ever moves the rest of the
plan earlier. An account whose planned day has passed stays due ("no touch logged
yet"), never overdue, until a touch is logged.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from datetime import date, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from bot.retention.calendar import Calendars
from bot.retention.dates import as_day
from bot.retention.facts import AccountFacts, day_start, load_facts
from bot.retention.occasions import utc_day
from bot.retention.signals import compute_signals, health_of, owner_calendar, touch_schedule
from bot.retention.urgency import urgency
from models import Account, Touch

ID_CHUNK = 5000


def _cadence(facts: AccountFacts, tier_cadence: Mapping[str, int]) -> int:
    return facts.cadence_days or tier_cadence.get(facts.tier) or max(tier_cadence.values())


def _backlog_urgency(facts: AccountFacts, *, as_of: date, tier_cadence: Mapping[str, int]):
    """Value at risk of a never-touched account (its lateness is 1: it is not late)."""
    schedule = touch_schedule(facts, as_of=as_of, tier_cadence=tier_cadence)
    health = health_of(compute_signals(facts, as_of=as_of, schedule=schedule))
    return urgency(facts, schedule, health)


def plan_first_touches(
    *,
    session: Session,
    facts: Mapping[int, AccountFacts],
    as_of: date,
    tier_cadence: Mapping[str, int],
    calendars: Calendars | None = None,
    summary: bool = False,
) -> None:
    """Set `first_touch_due` on every owned account in `facts` with no touch logged (as
    of `as_of`). The rest of each account's batch is loaded when it is not in `facts`
    (from the purchase summary with `summary`), so one account's card shows the same day
    as the rep's reminders."""
    untouched = [f for f in facts.values() if f.last_touch_at is None and f.owner_id is not None]
    if not untouched:
        return
    batches = {(f.owner_id, f.created_at.date()) for f in untouched}
    owners = sorted({owner for owner, _ in batches})
    first_day = min(day for _, day in batches)
    end = day_start(as_of + timedelta(days=1))

    touched = sa.exists().where(Touch.account_id == Account.id, Touch.touched_at < end)
    batch_day = utc_day(Account.created_at)
    # Every account of those owners created on a batch day: the batch's full size fixes
    # its daily quota (counted in SQL); the untouched ones are planned.
    size: dict[tuple[int, date], int] = defaultdict(int)
    members: dict[tuple[int, date], list[int]] = defaultdict(list)
    for start in range(0, len(owners), ID_CHUNK):
        scope = (
            Account.owner_id.in_(owners[start : start + ID_CHUNK]),
            Account.created_at >= day_start(first_day),
        )
        counts = session.execute(
            sa.select(Account.owner_id, batch_day, sa.func.count())
            .where(*scope)
            .group_by(Account.owner_id, batch_day)
        )
        for owner_id, day, count in counts:
            key = (owner_id, as_day(day))
            if key in batches:
                size[key] = count
        untouched_rows = session.execute(
            sa.select(Account.id, Account.owner_id, batch_day).where(*scope, ~touched)
        )
        for account_id, owner_id, day in untouched_rows:
            key = (owner_id, as_day(day))
            if key in batches:
                members[key].append(account_id)

    missing = [i for ids in members.values() for i in ids if i not in facts]
    loaded: dict[int, AccountFacts] = dict(facts)
    for start in range(0, len(missing), ID_CHUNK):
        loaded.update(
            load_facts(
                session=session,
                as_of=as_of,
                account_ids=missing[start : start + ID_CHUNK],
                with_order_days=True,
                summary=summary,
            )
        )

    for key, ids in members.items():
        batch = [loaded[i] for i in ids if i in loaded]
        if not batch:
            continue
        _, day = key
        calendar = owner_calendar(batch[0], calendars)
        longest = max(_cadence(f, tier_cadence) for f in batch)
        period = calendar.working_days_from(
            day, max(1, _working_days_within(calendar, day, longest))
        )
        per_day = math.ceil(size[key] / len(period))
        batch.sort(
            key=lambda f: (
                -_backlog_urgency(f, as_of=as_of, tier_cadence=tier_cadence),
                f.name.casefold(),
                f.id,
            )
        )
        for rank, fact in enumerate(batch):
            slot = period[min(rank // per_day, len(period) - 1)]
            # Never later than the account's own cadence allows (a key account in a batch
            # of small ones still gets its first touch within its 14 days).
            own = _working_days_within(calendar, day, _cadence(fact, tier_cadence))
            latest = period[max(0, min(own, len(period)) - 1)]
            due = min(slot, latest)
            if fact.id in facts:
                facts[fact.id].first_touch_due = due
                facts[fact.id].first_touch_quota = per_day


def _working_days_within(calendar, day: date, cadence: int) -> int:
    """Working days in the `cadence` days starting on `day`."""
    return calendar.working_days_after(day - timedelta(days=1), day + timedelta(days=cadence - 1))
