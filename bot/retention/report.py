"""The recency report: when did the best, average and worst customers last buy,
how many have gone quiet, and how many are buying far less than they used to."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from bot.retention.errors import InvalidInput
from bot.retention.facts import AccountFacts, day_start, load_facts, months_back, utc_value
from bot.retention.rebuy_model.forecast import RebuyForecast, rebuy_forecast
from bot.retention.rfm import SEGMENT_NO_PURCHASES, score_account, workspace_cutoffs
from models import Order, Touch


@dataclass(frozen=True)
class CustomerGroup:
    """Customers in one value band (by what they have spent in all)."""

    label: str
    accounts: int
    min_value: float
    max_value: float
    median_last_order: date | None
    newest_last_order: date | None
    oldest_last_order: date | None
    median_days_since: int | None

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "accounts": self.accounts,
            "min_value": round(self.min_value, 2),
            "max_value": round(self.max_value, 2),
            "last_order_at": _iso(self.median_last_order),
            "median_last_order_at": _iso(self.median_last_order),
            "newest_last_order_at": _iso(self.newest_last_order),
            "oldest_last_order_at": _iso(self.oldest_last_order),
            "median_days_since_last_order": self.median_days_since,
        }


@dataclass
class RecencyReport:
    as_of: date
    accounts: int
    never_bought: int
    not_bought_6m: int
    not_bought_12m: int
    not_bought_18m: int
    declining: int
    best: CustomerGroup
    average: CustomerGroup
    worst: CustomerGroup
    segments: dict[str, int] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    # The re-buy model's next 90 days; None when no reliable fit is stored.
    rebuy: RebuyForecast | None = None

    def to_dict(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(),
            "accounts": self.accounts,
            "never_bought": self.never_bought,
            "not_bought_6m": self.not_bought_6m,
            "not_bought_12m": self.not_bought_12m,
            "not_bought_18m": self.not_bought_18m,
            "declining": self.declining,
            "best": self.best.to_dict(),
            "average": self.average.to_dict(),
            "worst": self.worst.to_dict(),
            "segments": self.segments,
            "rebuy": self.rebuy.to_dict() if self.rebuy else None,
            **self.extra,
        }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _group(label: str, members: list[AccountFacts], as_of: date) -> CustomerGroup:
    lasts = sorted(f.last_order_day for f in members if f.last_order_day)
    values = [f.total_value for f in members]
    return CustomerGroup(
        label=label,
        accounts=len(members),
        min_value=min(values, default=0.0),
        max_value=max(values, default=0.0),
        median_last_order=lasts[(len(lasts) - 1) // 2] if lasts else None,
        newest_last_order=lasts[-1] if lasts else None,
        oldest_last_order=lasts[0] if lasts else None,
        median_days_since=(as_of - lasts[(len(lasts) - 1) // 2]).days if lasts else None,
    )


def data_starts(*, session: Session) -> date | None:
    """The day of the first order or touch on record (None when there is none)."""
    firsts = [
        session.execute(sa.select(sa.func.min(Order.ordered_at))).scalar(),
        session.execute(sa.select(sa.func.min(Touch.touched_at))).scalar(),
    ]
    days = [utc_value(value).date() for value in firsts if value is not None]
    return min(days) if days else None


def check_as_of(*, session: Session, as_of: date, today: date) -> date:
    """`as_of` when it can be answered: never in the future, never before the data."""
    if as_of > today:
        raise InvalidInput(
            f"--as-of {as_of.isoformat()} is in the future (today is {today.isoformat()}); "
            "pick today or an earlier day."
        )
    starts = data_starts(session=session)
    if starts is not None and as_of < starts:
        raise InvalidInput(
            f"--as-of {as_of.isoformat()} is before any data: the first order or touch is on "
            f"{starts.isoformat()}. Pick that day or a later one."
        )
    return as_of


def existed_on(facts: AccountFacts, as_of: date) -> bool:
    """The account was there on `as_of`: created by then, or already buying then (imports
    create accounts long after their first orders)."""
    return (
        facts.created_at < day_start(as_of + timedelta(days=1))
        or facts.occasions > 0
        or (facts.orders_count > 0)
    )


def recency_report(
    *, session: Session, now: datetime, as_of: date | None = None, from_summary: bool = True
) -> RecencyReport:
    """The whole workspace, in a few grouped queries.

    "Not bought in N months" means no order on or after as-of minus N calendar
    months; accounts with no order at all count as not bought. Accounts created after
    `as_of` with no order by then are left out: they did not exist yet. Best, average and
    worst are the top fifth, middle three fifths and bottom fifth of buyers by spend.
    The order facts come from the per-account summary; `from_summary=False` recomputes
    them from every order (for checking).
    """
    as_of = as_of or now.date()
    facts = {
        account_id: fact
        for account_id, fact in load_facts(
            session=session, as_of=as_of, summary=from_summary
        ).items()
        if existed_on(fact, as_of)
    }
    since = {months: months_back(as_of, months) for months in (6, 12, 18)}

    def not_bought(months: int) -> int:
        cutoff = since[months]
        return sum(1 for f in facts.values() if not f.last_order_day or f.last_order_day < cutoff)

    declining = sum(
        1 for f in facts.values() if f.value_prev_6m > 0 and f.value_last_6m < 0.5 * f.value_prev_6m
    )
    buyers = sorted(
        (f for f in facts.values() if f.last_order_at), key=lambda f: (-f.total_value, f.id)
    )
    fifth = len(buyers) // 5
    if len(buyers) >= 5:
        best, average, worst = buyers[:fifth], buyers[fifth:-fifth], buyers[-fifth:]
    else:  # too few to split into fifths: the top one, the bottom one, the rest
        best, worst = buyers[:1], buyers[-1:] if len(buyers) > 1 else []
        average = buyers[1:-1] if len(buyers) > 2 else []

    cutoffs = workspace_cutoffs(session=session, as_of=as_of, now=now, facts=facts)
    segments = Counter(
        score_account(f, cutoffs=cutoffs, as_of=as_of).segment for f in facts.values()
    )
    return RecencyReport(
        as_of=as_of,
        accounts=len(facts),
        never_bought=sum(1 for f in facts.values() if not f.last_order_at),
        not_bought_6m=not_bought(6),
        not_bought_12m=not_bought(12),
        not_bought_18m=not_bought(18),
        declining=declining,
        best=_group("Best (top 20%)", best, as_of),
        average=_group("Average (middle 60%)", average, as_of),
        worst=_group("Worst (bottom 20%)", worst, as_of),
        segments=dict(
            sorted(
                segments.items(),
                key=lambda item: (item[0] == SEGMENT_NO_PURCHASES, -item[1], item[0]),
            )
        ),
        rebuy=rebuy_forecast(session=session, facts=facts, as_of=as_of),
    )
