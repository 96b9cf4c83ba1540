"""The demo workspace behind `rebuy demo`: three reps and a believable book of accounts.

Every date is relative to `now`, so the demo always looks current, and the data is
shaped on purpose: each signal, several RFM segments and a short list of due
accounts per rep show up whatever the seed. The seed only varies the details
(amounts, gaps, people, notes).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlmodel import Session, select

from bot.demo_data import (
    ACCOUNTS,
    FEATURED,
    FIRST_NAMES,
    FULL_RANGE,
    LAST_NAMES,
    NOTES,
    PLANNED,
    PRODUCT_SIZE,
    PRODUCTS,
    REPS,
    SMALL_RANGE,
    SNOOZED,
    TIER_VALUE,
    TITLES,
    TOUCH_MIX,
    AccountSpec,
)
from bot.retention.errors import RebuyError
from bot.retention.names import normalize_name
from bot.retention.summary import refresh_summary
from models import Account, AccountPlan, Contact, Order, Rep, Snooze, Touch

TIER_CADENCE = {"key": 14, "mid": 30, "small": 60}
# Order history reaches back about two years (the RFM window); touches about eight months.
HISTORY_DAYS = 730
TOUCH_HISTORY_DAYS = 240


@dataclass
class DemoSummary:
    """What `seed_demo` created, for the CLI to report and to show first."""

    reps: int
    accounts: int
    orders: int
    contacts: int
    touches: int
    plans: int
    snoozes: int
    featured_account: str
    rep_emails: list[str]


class DemoWorkspaceNotEmpty(RebuyError):
    """The demo only fills an empty database; it never mixes with real accounts."""

    def __init__(self) -> None:
        super().__init__("The demo needs an empty database: this one already has accounts.")


def seed_demo(*, session: Session, now: datetime, seed: int = 7) -> DemoSummary:
    """Fill an empty workspace with demo reps, accounts, orders, contacts, touches,
    plans and snoozes, all dated relative to `now`. The caller commits.

    Deterministic for a given `seed` and `now`.
    """
    if session.exec(select(Account.id).limit(1)).first() is not None:
        raise DemoWorkspaceNotEmpty()
    now = now.astimezone(UTC)
    today = now.date()
    rng = random.Random(seed)

    reps = [
        Rep(email=spec.email, name=spec.name, slack_user_id=spec.slack_user_id, tz=spec.tz,
            created_at=now)
        for spec in REPS
    ]  # fmt: skip
    session.add_all(reps)
    session.flush()

    histories = [_order_history(spec, rng=rng) for spec in ACCOUNTS]
    accounts = []
    for number, (spec, history) in enumerate(zip(ACCOUNTS, histories, strict=True), start=1001):
        first_days_ago = history[0][0] if history else rng.randint(20, 30)
        accounts.append(
            Account(
                external_id=f"CRM-{number}",
                name=spec.name,
                name_key=normalize_name(spec.name),
                owner_id=reps[spec.owner].id,
                tier=spec.tier,
                annual_value=Decimal(spec.annual_value) if spec.annual_value else None,
                cadence_days=spec.cadence_days,
                # In the CRM since shortly before the first order.
                created_at=now - timedelta(days=first_days_ago + rng.randint(7, 45)),
                updated_at=now,
            )
        )
    session.add_all(accounts)
    session.flush()

    orders = _orders(accounts, histories, rng=rng, today=today)
    contacts = [
        contact
        for spec, account in zip(ACCOUNTS, accounts, strict=True)
        for contact in _contacts(spec, account, rng=rng, now=now)
    ]
    touches = [
        touch
        for spec, account in zip(ACCOUNTS, accounts, strict=True)
        for touch in _touches(spec, account, reps[spec.owner], rng=rng, now=now)
    ]
    plans = [
        _plan(account, orders, reps[spec.owner], rng=rng, now=now)
        for spec, account in zip(ACCOUNTS, accounts, strict=True)
        if spec.name in PLANNED
    ]
    snoozes = [
        Snooze(
            account_id=account.id,
            until=today + timedelta(days=rng.randint(5, 10)),
            reason=SNOOZED[spec.name],
            slack_user_id=reps[spec.owner].slack_user_id,
            created_at=now - timedelta(days=rng.randint(1, 3)),
        )
        for spec, account in zip(ACCOUNTS, accounts, strict=True)
        if spec.name in SNOOZED
    ]
    session.add_all([*orders, *contacts, *touches, *plans, *snoozes])
    session.flush()
    refresh_summary(session.connection(), [a.id for a in accounts], today=today)

    return DemoSummary(
        reps=len(reps),
        accounts=len(accounts),
        orders=len(orders),
        contacts=len(contacts),
        touches=len(touches),
        plans=len(plans),
        snoozes=len(snoozes),
        featured_account=FEATURED,
        rep_emails=[rep.email for rep in reps],
    )


# --- orders ------------------------------------------------------------------------------


def _series(
    rng: random.Random, *, last: int, gap: float, start: int, jitter: float = 0.2
) -> list[int]:
    """Days-ago of orders every `gap` days (give or take `jitter`), from `start` to `last`.

    Built backwards from the last order so the latest gap is a normal one: steady
    accounts never look off rhythm by accident.
    """
    days = [last]
    while True:
        step = max(1, round(gap * rng.uniform(1 - jitter, 1 + jitter)))
        if days[-1] + step > start:
            return days[::-1]
        days.append(days[-1] + step)


def _order_history(spec: AccountSpec, *, rng: random.Random) -> list[tuple[int, float]]:
    """(days ago, size factor) of each order, oldest first, shaped by the account's pattern."""
    start = HISTORY_DAYS - rng.randint(0, 40)
    pattern = spec.pattern
    if pattern == "none":
        return []
    if pattern == "new":
        # First order within the last two months, a small re-order since.
        return [(rng.randint(25, 55), 0.6), (rng.randint(1, 4), 0.8)]
    if pattern == "champion":
        gap = rng.uniform(5, 8)
        days = _series(rng, last=rng.randint(1, 3), gap=gap, start=start)
    elif pattern == "loyal":
        gap = rng.uniform(12, 16)
        days = _series(rng, last=rng.randint(round(gap * 0.7), round(gap * 1.1)), gap=gap,
                       start=start)  # fmt: skip
    elif pattern in ("steady", "declining"):
        gap = rng.uniform(21, 28) if pattern == "steady" else rng.uniform(14, 18)
        days = _series(rng, last=rng.randint(2, round(gap * 0.8)), gap=gap, start=start)
    elif pattern == "off_rhythm":
        # Like clockwork every month, then nothing for two to three months.
        days = _series(rng, last=rng.randint(62, 85), gap=rng.uniform(28, 32), start=start,
                       jitter=0.1)  # fmt: skip
    elif pattern == "occasional":
        gap = rng.uniform(55, 75)
        days = _series(rng, last=rng.randint(5, round(gap * 0.8)), gap=gap, start=start,
                       jitter=0.1)  # fmt: skip
    elif pattern.startswith("dormant_"):
        last = {"dormant_6m": (215, 320), "dormant_12m": (400, 510), "dormant_18m": (575, 650)}
        days = _series(rng, last=rng.randint(*last[pattern]), gap=rng.uniform(20, 30),
                       start=max(start, 700))  # fmt: skip
    else:
        raise ValueError(f"unknown demo pattern {pattern!r}")
    if pattern == "declining":
        # Same rhythm, but for the last half year only small spare-parts top-ups:
        # the consumables went to someone else.
        return [(d, 0.3 if d < 200 else 1.0) for d in days]
    return [(d, 1.0) for d in days]


def _orders(
    accounts: list[Account],
    histories: list[list[tuple[int, float]]],
    *,
    rng: random.Random,
    today: date,
) -> list[Order]:
    rows: list[tuple[datetime, Account, float, str]] = []
    for spec, account, history in zip(ACCOUNTS, accounts, histories, strict=True):
        small = spec.pattern in ("occasional", "new") or spec.tier == "small"
        mix = SMALL_RANGE if small else FULL_RANGE
        mean_size = sum(w * PRODUCT_SIZE[p] for p, w in zip(PRODUCTS, mix, strict=True))
        yearly = spec.annual_value or TIER_VALUE[spec.tier]
        span = history[0][0] - history[-1][0] if len(history) > 1 else 0
        per_year = 365 * (len(history) - 1) / span if span else 6
        base = yearly / per_year / mean_size
        for days_ago, factor in history:
            product = "Spare parts" if factor < 1 else rng.choices(PRODUCTS, weights=mix)[0]
            amount = base * PRODUCT_SIZE[product] * factor * rng.uniform(0.85, 1.15)
            at = datetime.combine(
                today - timedelta(days=days_ago),
                time(rng.randint(7, 16), rng.choice((0, 15, 30, 45))),
                tzinfo=UTC,
            )
            rows.append((at, account, amount, product))
    rows.sort(key=lambda row: (row[0], row[1].external_id))
    orders = []
    for number, (at, account, amount, product) in enumerate(rows, start=240_001):
        order_id = f"SO-{number}"
        orders.append(
            Order(
                account_id=account.id,
                ordered_at=at,
                amount=Decimal(f"{max(amount, 25):.2f}"),
                order_id=order_id,
                order_key=order_id,
                product=product,
            )
        )
    return orders


# --- people and activity -------------------------------------------------------------------


def _contacts(
    spec: AccountSpec, account: Account, *, rng: random.Random, now: datetime
) -> list[Contact]:
    firsts = rng.sample(FIRST_NAMES, spec.contacts)
    lasts = rng.sample(LAST_NAMES, spec.contacts)
    titles = rng.sample(TITLES[spec.industry], spec.contacts)
    contacts = []
    for first, last, title in zip(firsts, lasts, titles, strict=True):
        local = ".".join(normalize_name(f"{first} {last}").split())
        email = f"{local}@{spec.domain}"
        contacts.append(
            Contact(
                account_id=account.id,
                name=f"{first} {last}",
                email=email,
                title=title,
                contact_key=email,
                created_at=now,
            )
        )
    return contacts


def _cadence(spec: AccountSpec) -> int:
    return spec.cadence_days or TIER_CADENCE[spec.tier]


def _touches(
    spec: AccountSpec, account: Account, rep: Rep, *, rng: random.Random, now: datetime
) -> list[Touch]:
    """A touch history ending where the spec says the last touch falls against the cadence."""
    cadence = _cadence(spec)
    age = (now - account.created_at).days
    if spec.touch == "none":
        return []
    if spec.touch == "due":
        last = cadence + rng.randint(3, 20)
    elif spec.touch == "today":
        last = cadence
    else:
        last = rng.randint(1, max(1, min(cadence - 5, age - 1)))
    if spec.pattern in ("champion", "loyal"):
        notes = NOTES["champion"] + NOTES["any"]
    elif spec.pattern == "declining":
        notes = NOTES["declining"] + NOTES["any"][:3]
    elif spec.pattern.startswith("dormant_"):
        notes = NOTES["dormant"] + NOTES["any"][3:5]
    elif spec.pattern in ("new", "none"):
        notes = NOTES["new"]
    else:
        notes = NOTES["any"]

    touches = []
    days_ago = last
    while days_ago <= min(TOUCH_HISTORY_DAYS, age - 1):
        at = datetime.combine(
            now.date() - timedelta(days=days_ago),
            time(rng.randint(8, 17), rng.randint(0, 59)),
            tzinfo=UTC,
        )
        touches.append(
            Touch(
                account_id=account.id,
                kind=rng.choices(list(TOUCH_MIX), weights=list(TOUCH_MIX.values()))[0],
                touched_at=at,
                rep_id=rep.id,
                slack_user_id=rep.slack_user_id,
                note=rng.choice(notes) if rng.random() < 0.45 else None,
                source="demo",
                created_at=now,
            )
        )
        days_ago += max(3, round(cadence * rng.uniform(0.6, 1.1)))
    return touches


def _plan(
    account: Account, orders: list[Order], rep: Rep, *, rng: random.Random, now: datetime
) -> AccountPlan:
    """A 3-5 month plan whose "from" matches what the account really bought last quarter."""
    since = now - timedelta(days=91)
    recent = [o for o in orders if o.account_id == account.id and o.ordered_at >= since]
    if not recent:
        current = "Contract signed, no order yet; one contact, the lab manager."
        target = "First consumables order placed and a service plan quoted."
    else:
        quarter = max(1000.0, round(float(sum(o.amount for o in recent)), -3))
        lines = len({o.product for o in recent})
        plural = "s" if lines != 1 else ""
        current = f"{lines} product line{plural}, about ${quarter:,.0f} a quarter."
        target = (
            f"{min(lines + 1, len(PRODUCTS))} product lines, "
            f"${round(quarter * 1.25, -3):,.0f} a quarter."
        )
    return AccountPlan(
        account_id=account.id,
        current_state=current,
        target_state=target,
        horizon=now.date() + timedelta(days=rng.randint(95, 150)),
        updated_by=rep.slack_user_id,
        updated_at=now,
    )
