"""The weekly manager digest: is the book covered, who is touching accounts, what slipped
into risk this week, who deserves a shout-out, and which tactics bring rebuys."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.retention.book import book_entries
from bot.retention.calendar import Calendars
from bot.retention.results import AtRiskAccount, RepCoverage, ShoutOut, WeeklyDigest
from bot.retention.tactic_stats import WIN_WINDOW_DAYS, tactic_win_rates
from models import Account, Order, Rep, Touch

WEEK = timedelta(days=7)


def touched_within_cadence(entry, as_of) -> bool:
    """Coverage: a touch logged within the account's cadence. A snooze or a recent order
    alone does not cover an account; nobody talked to the customer."""
    last = entry.facts.last_touch_at
    return last is not None and (as_of - last.date()).days <= entry.schedule.cadence_days


def weekly_digest(
    *,
    session: Session,
    now: datetime,
    as_of: date,
    tier_cadence: Mapping[str, int],
    calendars: Calendars | None = None,
) -> WeeklyDigest:
    """The digest for the week ending `now` (`as_of` is the manager's today).

    Coverage: share of the accounts with a touch logged within their cadence (the team's
    share counts the accounts with no active owner too). Newly at risk: health band "at
    risk" as of `as_of` but not as of a week earlier. Shout-outs: purchases (positive
    amounts) in the last 7 days on a rep's accounts that came within 60 days after a touch
    the rep logged.
    """
    reps = {rep.id: rep for rep in session.exec(select(Rep).where(Rep.active).order_by(Rep.email))}
    now_entries = book_entries(
        session=session,
        owner_id=None,
        as_of=as_of,
        tier_cadence=tier_cadence,
        calendars=calendars,
    )
    before = {
        entry.facts.id: entry
        for entry in book_entries(
            session=session,
            owner_id=None,
            as_of=as_of - WEEK,
            tier_cadence=tier_cadence,
            calendars=calendars,
        )
    }

    accounts: dict[int, int] = defaultdict(int)
    covered: dict[int, int] = defaultdict(int)  # touched within cadence
    # Accounts with no owner, or an owner no longer active: part of the book all the same
    # (leaving them out would let un-assigning an account raise the team's coverage).
    ownerless = ownerless_covered = 0
    newly_at_risk: list[AtRiskAccount] = []
    for entry in now_entries:
        owner_id = entry.facts.owner_id
        if owner_id in reps:
            accounts[owner_id] += 1
            covered[owner_id] += touched_within_cadence(entry, as_of)
        else:
            ownerless += 1
            ownerless_covered += touched_within_cadence(entry, as_of)
        earlier = before.get(entry.facts.id)
        if entry.health.band == "at risk" and (earlier is None or earlier.health.band != "at risk"):
            owner = reps.get(owner_id)
            top = max(entry.signals, key=lambda signal: signal.penalty)
            newly_at_risk.append(
                AtRiskAccount(
                    name=entry.facts.name,
                    owner_email=owner.email if owner else None,
                    owner_slack_user_id=owner.slack_user_id if owner else None,
                    health=entry.health.score,
                    was=earlier.health.score if earlier else 100,
                    reason=top.reason,
                )
            )
    newly_at_risk.sort(key=lambda item: (item.health, item.name.casefold()))

    since = now - WEEK
    touches = dict(
        session.execute(
            sa.select(Touch.rep_id, sa.func.count())
            .where(Touch.rep_id.is_not(None), Touch.touched_at > since, Touch.touched_at <= now)
            .group_by(Touch.rep_id)
        ).all()
    )
    coverage = [
        RepCoverage(
            email=rep.email,
            name=rep.name,
            slack_user_id=rep.slack_user_id,
            accounts=accounts[rep_id],
            covered=covered[rep_id],
            touches=touches.get(rep_id, 0),
        )
        for rep_id, rep in reps.items()
        if accounts[rep_id] or touches.get(rep_id)
    ]
    coverage.sort(key=lambda row: (row.coverage, row.email))
    return WeeklyDigest(
        week_start=as_of - timedelta(days=as_of.weekday()),
        as_of=as_of,
        reps=coverage,
        newly_at_risk=newly_at_risk,
        shout_outs=_shout_outs(session=session, reps=reps, now=now),
        tactic_win_rates=tactic_win_rates(session=session, now=now),
        ownerless=ownerless,
        ownerless_covered=ownerless_covered,
    )


def _shout_outs(*, session: Session, reps: Mapping[int, Rep], now: datetime) -> list[ShoutOut]:
    """Reps whose accounts bought this week after a touch the rep logged: a purchase (a
    positive amount; a credit note or a zero row is none) within 60 days after a touch
    by the account's owner (a colleague's touch earns the owner no praise)."""
    since = now - WEEK
    orders = session.execute(
        sa.select(Order.account_id, Order.ordered_at, Order.amount, Account.name, Account.owner_id)
        .join(Account, Account.id == Order.account_id)
        .where(
            Order.ordered_at > since,
            Order.ordered_at <= now,
            Order.amount > 0,
            Account.owner_id.is_not(None),
        )
    ).all()
    if not orders:
        return []
    window = timedelta(days=WIN_WINDOW_DAYS)
    touched: dict[int, list[tuple[datetime, int | None]]] = defaultdict(list)
    account_ids = sorted({row.account_id for row in orders})
    for start in range(0, len(account_ids), 5000):
        for account_id, touched_at, rep_id in session.execute(
            sa.select(Touch.account_id, Touch.touched_at, Touch.rep_id).where(
                Touch.account_id.in_(account_ids[start : start + 5000]),
                Touch.touched_at > since - window,
                Touch.touched_at <= now,
            )
        ):
            touched[account_id].append((touched_at, rep_id))

    names: dict[int, dict[int, str]] = defaultdict(dict)
    amounts: dict[int, float] = defaultdict(float)
    for account_id, ordered_at, amount, name, owner_id in orders:
        if owner_id not in reps:
            continue
        if any(
            rep_id == owner_id and ordered_at - window <= at < ordered_at
            for at, rep_id in touched.get(account_id, ())
        ):
            names[owner_id][account_id] = name
            amounts[owner_id] += float(amount)
    shout_outs = [
        ShoutOut(
            email=reps[owner_id].email,
            name=reps[owner_id].name,
            slack_user_id=reps[owner_id].slack_user_id,
            accounts=sorted(won.values(), key=str.casefold),
            amount=amounts[owner_id],
        )
        for owner_id, won in names.items()
    ]
    shout_outs.sort(key=lambda row: (-len(row.accounts), -row.amount, row.email))
    return shout_outs
