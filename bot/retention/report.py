"""The recency report: when did the best, average and worst customers last buy,
how many have gone quiet, and how many are buying far less than they used to.

`recency_report` reads it from the purchase summary in a few aggregate statements
(bot/retention/report_sql.py); `recomputed_report` recomputes every account's facts from
all of its orders in Python, the reference the tests hold the fast path to. Importing
this module loads no SQLAlchemy, SQLModel or models; the paths that need the ORM (the
re-buy forecast when a fit is shown, the tactic win rates when a touch used a tactic,
the recomputation) import it when they run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.retention.errors import InvalidInput
from bot.retention.plain_sql import Run, Sql, session_run
from bot.retention.report_build import build_report
from bot.retention.report_result import CustomerGroup, RecencyReport, Unowned
from bot.retention.report_sql import ReportQuery, first_data_day
from bot.retention.rfm_rules import SEGMENT_NO_PURCHASES, Cutoffs
from bot.retention.windows import day_start, months_back

if TYPE_CHECKING:
    from sqlmodel import Session

    from bot.retention.facts import AccountFacts

__all__ = [
    "CustomerGroup",
    "RecencyReport",
    "check_as_of",
    "read_report",
    "recency_report",
    "recomputed_report",
]

# An ORM session for the parts that need one, opened only when they run.
OrmSession = Callable[[], AbstractContextManager["Session"]]


def check_day(run: Run, sql: Sql, *, as_of: date, today: date) -> date:
    """`as_of` when it can be answered: never in the future, never before the data."""
    from bot.retention.dates import day_label

    if as_of > today:
        raise InvalidInput(
            f"--as-of {day_label(as_of)} is in the future (today is {day_label(today)}); "
            "pick today or an earlier day."
        )
    starts = first_data_day(run, sql)
    if starts is not None and as_of < starts:
        raise InvalidInput(
            f"--as-of {day_label(as_of)} is before any data: the first order or touch is on "
            f"{day_label(starts)}. Pick that day or a later one."
        )
    return as_of


def check_as_of(*, session: Session, as_of: date, today: date) -> date:
    """`as_of` when it can be answered: never in the future, never before the data."""
    run, sql = session_run(session)
    return check_day(run, sql, as_of=as_of, today=today)


def recency_report(
    *, session: Session, now: datetime, as_of: date | None = None, from_summary: bool = True
) -> RecencyReport:
    """The whole workspace as of a day (default: today), read from the summary.

    "Not bought in N months" means no order on or after as-of minus N calendar
    months; accounts with no order at all count as not bought. Accounts created after
    `as_of` with no order by then are left out: they did not exist yet. Best, average and
    worst are the top fifth, middle three fifths and bottom fifth of buyers by spend.
    `from_summary=False` recomputes every fact from the orders instead (for checking).
    """
    if not from_summary:
        return recomputed_report(session=session, now=now, as_of=as_of)
    run, sql = session_run(session)
    return read_report(
        run,
        sql,
        now=now,
        as_of=as_of or now.date(),
        orm=lambda: nullcontext(session),
        store_cutoffs=lambda day, cutoffs: _store_cutoffs(session, day, cutoffs, now),
    )


def read_report(
    run: Run,
    sql: Sql,
    *,
    now: datetime,
    as_of: date,
    orm: OrmSession,
    store_cutoffs: Callable[[date, Cutoffs], None],
) -> RecencyReport:
    """The report from the summary in a few aggregate statements; the ORM session is
    opened only for a shown re-buy forecast or tactics that have touches."""
    query = ReportQuery(run, sql, as_of=as_of, now=now)
    cutoffs = query.cached_cutoffs()
    if cutoffs is None:
        cutoffs = query.compute_cutoffs()
        store_cutoffs(as_of, cutoffs)
    report = build_report(query, cutoffs)
    rates: list[dict] = []
    if query.tactic_touches():
        from bot.retention.tactic_stats import tactic_win_rates

        with orm() as session:
            rates = tactic_win_rates(session=session, now=now)
    report.extra = _extra(rates, query.unowned())
    if query.fit_shown():
        with orm() as session:
            report.rebuy = _forecast(session, as_of=as_of, summary=True)
    return report


def _extra(win_rates: list[dict], unowned: Unowned) -> dict:
    """The report's one `extra` shape, whoever asks: which suggested tactics were
    followed by a re-order within 60 days, and the accounts nobody owns today."""
    return {"tactic_win_rates": win_rates, "accounts_without_owner": unowned.to_dict()}


def _store_cutoffs(session: Session, as_of: date, cutoffs: Cutoffs, now: datetime) -> None:
    from bot.retention.rfm import cache_cutoffs

    cache_cutoffs(session, cutoffs, as_of=as_of, now=now)


def _report_facts(session: Session, *, as_of: date, summary: bool) -> dict[int, AccountFacts]:
    """Every account in the report, with its facts (accounts created after `as_of` with
    no order by then did not exist yet)."""
    from bot.retention.facts import load_facts

    end = day_start(as_of + timedelta(days=1))
    return {
        account_id: fact
        for account_id, fact in load_facts(session=session, as_of=as_of, summary=summary).items()
        if fact.created_at < end or fact.orders_count > 0
    }


def _forecast(session: Session, *, as_of: date, summary: bool):
    from bot.retention.rebuy_model.forecast import rebuy_forecast

    facts = _report_facts(session, as_of=as_of, summary=summary)
    return rebuy_forecast(session=session, facts=facts, as_of=as_of)


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


def recomputed_report(
    *, session: Session, now: datetime, as_of: date | None = None
) -> RecencyReport:
    """The report recomputed from every order, account by account in Python: the
    reference `recency_report` is tested against (and the way it was computed before
    the summary)."""
    from bot.retention.rfm import compute_cutoffs, score_account
    from bot.retention.tactic_stats import tactic_win_rates
    from bot.retention.unowned import unowned_accounts

    as_of = as_of or now.date()
    facts = _report_facts(session, as_of=as_of, summary=False)
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

    # Computed, never read from the cache: this is the reference.
    cutoffs = compute_cutoffs(facts, as_of=as_of)
    segments = Counter(
        score_account(f, cutoffs=cutoffs, as_of=as_of).segment for f in facts.values()
    )
    from bot.retention.rebuy_model.forecast import rebuy_forecast

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
        extra=_extra(tactic_win_rates(session=session, now=now), unowned_accounts(session=session)),
        rebuy=rebuy_forecast(session=session, facts=facts, as_of=as_of),
    )
