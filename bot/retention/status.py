"""The account status card's content: everything a rep needs at one glance."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from bot.retention.backlog import plan_first_touches
from bot.retention.calendar import Calendars
from bot.retention.card import AccountStatus, LastTouch, Person, Plan
from bot.retention.facts import AccountFacts, day_start, load_facts
from bot.retention.rebuy_model.outlook import account_outlook, with_outlook
from bot.retention.rfm import score_account, workspace_cutoffs
from bot.retention.signals import (
    Health,
    Signal,
    TouchSchedule,
    compute_signals,
    health_of,
    touch_schedule,
)
from bot.retention.tactics import TacticContext, plan_tactic_ids, recommend_tactics
from models import AccountPlan, Contact, Order, Rep, Touch


def assess(
    facts: AccountFacts,
    *,
    as_of: date,
    tier_cadence: Mapping[str, int],
    calendars: Calendars | None = None,
) -> tuple[TouchSchedule, list[Signal], Health]:
    """Schedule, signals and health of one account from its facts (no database; a
    never-touched account's first touch day comes from `plan_first_touches`)."""
    schedule = touch_schedule(facts, as_of=as_of, tier_cadence=tier_cadence, calendars=calendars)
    signals = compute_signals(facts, as_of=as_of, schedule=schedule)
    return schedule, signals, health_of(signals)


def account_status(
    *,
    session: Session,
    account_id: int,
    now: datetime,
    tier_cadence: Mapping[str, int],
    as_of: date | None = None,
    record_tactics: str | None = None,
    tactic_limit: int = 3,
    calendars: Calendars | None = None,
    tz: str | None = None,
    from_summary: bool = True,
) -> AccountStatus:
    """Everything on the status card for one account, as of `as_of` (default: today, UTC).

    `record_tactics` names the surface (e.g. "card") when the suggested tactics are
    shown to a rep, so the next suggestions rotate; the caller commits. `tz`: the asking
    rep's time zone (the suggested tactics stay the same all of their day). The order
    facts come from the purchase summary (`from_summary=False`: recomputed from every order,
    the same answer, for tests and benchmarks).
    """
    as_of = as_of or now.date()
    loaded = load_facts(
        session=session,
        as_of=as_of,
        account_ids=[account_id],
        with_order_days=True,
        summary=from_summary,
    )
    plan_first_touches(
        session=session,
        facts=loaded,
        as_of=as_of,
        tier_cadence=tier_cadence,
        calendars=calendars,
        summary=from_summary,
    )
    facts = loaded[account_id]
    schedule, signals, health = assess(
        facts, as_of=as_of, tier_cadence=tier_cadence, calendars=calendars
    )
    outlook = account_outlook(session=session, account_id=account_id)
    signals, outlook = with_outlook(signals, outlook, as_of=as_of, facts=facts)
    health = health_of(signals)
    cutoffs = workspace_cutoffs(session=session, as_of=as_of, now=now)
    rfm = score_account(facts, cutoffs=cutoffs, as_of=as_of)

    owner = session.get(Rep, facts.owner_id) if facts.owner_id else None
    last_order_amount = None
    if facts.last_order_at is not None:
        # The last occasion's value: what was bought that day (its positive rows; a
        # credit booked the same day is for an older order and shows in the totals).
        day = facts.last_order_at.date()
        last_order_amount = session.execute(
            sa.select(sa.func.sum(Order.amount)).where(
                Order.account_id == account_id,
                Order.amount > 0,
                Order.ordered_at >= day_start(day),
                Order.ordered_at < day_start(day + timedelta(days=1)),
            )
        ).scalar()
        last_order_amount = float(last_order_amount) if last_order_amount is not None else None

    last_touch = None
    if facts.last_touch_at is not None:
        row = session.exec(
            select(Touch, Rep)
            .join(Rep, Rep.id == Touch.rep_id, isouter=True)
            .where(Touch.account_id == account_id, Touch.touched_at == facts.last_touch_at)
            .order_by(Touch.id.desc())
        ).first()
        if row is not None:
            touch, rep = row
            slack_id = touch.slack_user_id or (rep.slack_user_id if rep else None)
            last_touch = LastTouch(
                at=touch.touched_at,
                kind=touch.kind,
                by=(rep.name or rep.email) if rep else slack_id,
                by_slack_user_id=slack_id,
                note=touch.note,
                source=touch.source,
            )

    contacts = [
        Person(name=c.name, title=c.title, email=c.email)
        for c in session.exec(
            select(Contact)
            .where(Contact.account_id == account_id, Contact.archived_at.is_(None))
            .order_by(Contact.name)
        )
    ]
    plan_row = session.exec(select(AccountPlan).where(AccountPlan.account_id == account_id)).first()
    plan = None
    if plan_row is not None:
        plan = Plan(
            current_state=plan_row.current_state,
            target_state=plan_row.target_state,
            horizon=plan_row.horizon,
            tactic_ids=plan_tactic_ids(plan_row),
            updated_by=plan_row.updated_by,
            updated_at=plan_row.updated_at,
        )

    tactics = recommend_tactics(
        session=session,
        account_id=account_id,
        signals=[signal.name for signal in signals],
        segment=rfm.segment,
        now=now,
        limit=tactic_limit,
        record=record_tactics,
        context=TacticContext.of(facts, as_of=as_of, monetary_score=rfm.monetary),
        tz=tz,
    )
    return AccountStatus(
        id=account_id,
        name=facts.name,
        external_id=facts.external_id,
        tier=facts.tier,
        owner_email=owner.email if owner else None,
        owner_name=owner.name if owner else None,
        owner_slack_user_id=owner.slack_user_id if owner else None,
        owner_active=owner.active if owner else True,
        annual_value=facts.annual_value,
        facts=facts,
        schedule=schedule,
        signals=signals,
        health=health,
        rfm=rfm,
        last_order_amount=last_order_amount,
        last_touch=last_touch,
        contacts=contacts,
        plan=plan,
        tactics=tactics,
        as_of=as_of,
        outlook=outlook,
    )


def account_card(
    *,
    session: Session,
    query: str,
    now: datetime,
    tier_cadence: Mapping[str, int],
    as_of: date | None = None,
    calendars: Calendars | None = None,
    tz: str | None = None,
) -> AccountStatus:
    """`rebuy account NAME`: the account `query` means (forgiving, see
    `lookup.find_account_match`; AccountNotFound / AmbiguousAccount / InvalidInput
    otherwise) and its status card, in one read-only session."""
    from bot.retention.lookup import find_account_id

    return account_status(
        session=session,
        account_id=find_account_id(session=session, query=query),
        now=now,
        as_of=as_of,
        tier_cadence=tier_cadence,
        calendars=calendars,
        tz=tz,
    )
