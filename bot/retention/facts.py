"""Per-account facts aggregated in SQL: the raw material of signals, RFM and reminders.

Everything is computed "as of" a day: orders and touches after the end of that
day (UTC) are ignored, so `--as-of` replays the past faithfully.

A purchase *occasion* is a distinct order day (UTC) with at least one positive order
row: two rows on one day are one occasion, a credit note (negative amount) reduces
value but is never an occasion and never resets recency (not even when it lands on
the day of a real purchase), and a zero-amount row (a free sample) is not an occasion
either. Frequency, the usual gap, off-rhythm
and RFM all count occasions; the row counts are kept for the card's
"12 orders on 9 days (plus 1 credit)".
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from bot.retention.dates import as_day
from bot.retention.occasions import is_occasion, order_days, purchase_occasions
from bot.retention.windows import RFM_WINDOW_MONTHS, day_start, months_back
from models import Account, AccountPlan, Contact, Order, Rep, Snooze, Touch


@dataclass(slots=True)
class AccountFacts:
    """What the database knows about one account, as of a day."""

    id: int
    external_id: str
    name: str
    tier: str
    owner_id: int | None
    annual_value: float | None
    cadence_days: int | None
    created_at: datetime
    # The last purchase occasion (credits and zero rows never count).
    last_order_at: datetime | None = None
    # Purchase occasions (distinct order days with at least one positive row).
    occasions: int = 0
    # Order rows of every kind, and how many of them were credits or zero amounts.
    orders_count: int = 0
    credit_rows: int = 0
    zero_rows: int = 0
    total_value: float = 0.0
    value_last_6m: float = 0.0
    value_prev_6m: float = 0.0
    value_last_12m: float = 0.0
    window_orders: int = 0  # purchase occasions in the RFM window
    window_value: float = 0.0  # net of credits
    last_touch_at: datetime | None = None
    touches_count: int = 0
    contacts_count: int = 0
    has_plan: bool = False
    snoozed_until: date | None = None
    # The owner's holiday calendar codes (None: the workspace default applies).
    owner_country: str | None = None
    owner_subdivision: str | None = None
    # For an account with no touch logged yet: the working day its first touch is
    # planned for (bot/retention/backlog.py spreads a rep's backlog over a cadence).
    first_touch_due: date | None = None
    # ...and how many first touches a day that plan gives the account's batch.
    first_touch_quota: int | None = None
    # Purchase occasion days, oldest first; loaded from the orders when asked for
    # (`with_order_days`), except where the purchase summary already knows the rhythm.
    order_days: list[date] = field(default_factory=list)
    # The usual rhythm: median days between consecutive occasions (None under two, or
    # when not asked for). Off-rhythm, the tactics and the re-buy outlook read it.
    usual_gap_days: float | None = None

    @property
    def orders_text(self) -> str:
        """ "9 orders", "12 orders on 9 days", "4 orders (plus 1 credit, 2 at zero)": only
        rows with a positive amount are orders (a credit note or a zero row is never one,
        and may fall on a day with no purchase, so it is named apart, never counted in the
        orders or their days)."""
        days = self.occasions
        purchases = max(self.orders_count - self.credit_rows - self.zero_rows, 0)
        text = f"{purchases:,} order{'s' if purchases != 1 else ''}"
        if purchases != days:
            text += f" on {days:,} day{'s' if days != 1 else ''}"
        extras = self.other_rows_text
        return text + (f" (plus {extras})" if extras else "")

    @property
    def other_rows_text(self) -> str:
        """The rows that are no purchase: "2 credits, 1 at zero" ("" when none)."""
        extras = []
        if self.credit_rows:
            extras.append(f"{self.credit_rows:,} credit{'s' if self.credit_rows != 1 else ''}")
        if self.zero_rows:
            extras.append(f"{self.zero_rows:,} at zero")
        return ", ".join(extras)

    @property
    def last_order_day(self) -> date | None:
        return self.last_order_at.date() if self.last_order_at else None

    @property
    def value(self) -> float:
        """What the account is worth a year: the CRM's figure, else the last 12 months' spend."""
        return self.annual_value if self.annual_value is not None else self.value_last_12m


def _as_float(value) -> float:
    return float(value) if value is not None else 0.0


def median_gap(day_numbers: Sequence[int]) -> float | None:
    """The median of the days between consecutive occasions, given as day numbers in
    order (None under two): the usual rhythm, for the summary and for loaded facts."""
    if len(day_numbers) < 2:
        return None
    gaps = sorted(b - a for a, b in itertools.pairwise(day_numbers))
    middle = len(gaps) // 2
    if len(gaps) % 2:
        return float(gaps[middle])
    return (gaps[middle - 1] + gaps[middle]) / 2


def utc_value(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):  # SQLite aggregates can come back as text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def load_facts(
    *,
    session: Session,
    as_of: date,
    account_ids: list[int] | None = None,
    owner_id: int | None = None,
    with_order_days: bool = False,
    summary: bool = False,
) -> dict[int, AccountFacts]:
    """Facts for the accounts in scope (given ids, one owner's book, or everything).

    A handful of grouped queries, whatever the number of accounts: no per-account SQL.
    With `summary`, the order facts come from the per-account summary table (the orders
    near the window edges only) instead of every order. `with_order_days`: the usual
    rhythm too (off-rhythm needs it), from the summary where it holds for `as_of`, else
    from the occasion days, which are then loaded as well.
    """
    if account_ids is not None and not account_ids:
        return {}
    facts = _accounts(session, account_ids=account_ids, owner_id=owner_id)
    if not facts:
        return facts

    def scoped(column):
        if account_ids is not None:
            return column.in_(list(facts))
        if owner_id is not None:
            return column.in_(sa.select(Account.id).where(Account.owner_id == owner_id))
        return sa.true()

    days_of = scoped(Order.account_id)
    if summary:
        from bot.retention.summary_read import fill_from_summary

        read_from_orders = fill_from_summary(
            session, facts, as_of=as_of, scoped=scoped, rhythm=with_order_days
        )
        days_of = Order.account_id.in_(read_from_orders) if read_from_orders else None
    else:
        fill_from_orders(session, facts, as_of=as_of, where=days_of)
    end = day_start(as_of + timedelta(days=1))
    _fill_activity(session, facts, scoped=scoped, end=end)
    if with_order_days and days_of is not None:
        _fill_order_days(session, facts, where=days_of, end=end)
    return facts


def _accounts(
    session: Session, *, account_ids: list[int] | None, owner_id: int | None
) -> dict[int, AccountFacts]:
    """The accounts in scope with their owner's calendar, no facts yet. Lists (a book, the
    workspace) leave out accounts archived in the CRM; asked for by id, an archived
    account still answers."""
    accounts = sa.select(
        Account.id,
        Account.external_id,
        Account.name,
        Account.tier,
        Account.owner_id,
        Account.annual_value,
        Account.cadence_days,
        Account.created_at,
        Rep.country,
        Rep.subdivision,
    ).outerjoin(Rep, Rep.id == Account.owner_id)
    if account_ids is not None:
        accounts = accounts.where(Account.id.in_(account_ids))
    else:
        accounts = accounts.where(Account.archived_at.is_(None))
    if owner_id is not None:
        accounts = accounts.where(Account.owner_id == owner_id)
    # Core rows unpacked by position: at a whole book or workspace (100,000 accounts)
    # the ORM's row handling and attribute look-ups cost more than the query. The
    # session's pending changes are flushed first, as its own execute would.
    if session.autoflush:
        session.flush()
    facts = {}
    for (
        account_id,
        external_id,
        name,
        tier,
        owner,
        annual_value,
        cadence_days,
        created_at,
        country,
        subdivision,
    ) in session.connection().execute(accounts).all():
        facts[account_id] = AccountFacts(
            id=account_id,
            external_id=external_id,
            name=name,
            tier=tier,
            owner_id=owner,
            annual_value=float(annual_value) if annual_value is not None else None,
            cadence_days=cadence_days,
            created_at=utc_value(created_at),
            owner_country=country,
            owner_subdivision=subdivision,
        )
    return facts


def _fill_activity(
    session: Session, facts: dict[int, AccountFacts], *, scoped, end: datetime
) -> None:
    """Touches, contacts, plans and snoozes as of `end`: one grouped query each, sent as
    one statement (a card pays one round trip for them, not four)."""
    nothing = sa.null()
    touches = (
        sa.select(
            sa.literal("touch").label("kind"),
            Touch.account_id.label("account_id"),
            sa.func.max(Touch.touched_at).label("at"),
            sa.func.count().label("n"),
            sa.cast(nothing, sa.Date).label("until"),
        )
        .where(scoped(Touch.account_id), Touch.touched_at < end)
        .group_by(Touch.account_id)
    )
    contacts = (
        sa.select(sa.literal("contact"), Contact.account_id, nothing, sa.func.count(), nothing)
        .where(scoped(Contact.account_id), Contact.archived_at.is_(None))
        .group_by(Contact.account_id)
    )
    plans = sa.select(sa.literal("plan"), AccountPlan.account_id, nothing, nothing, nothing).where(
        scoped(AccountPlan.account_id)
    )
    snoozes = (
        sa.select(
            sa.literal("snooze"), Snooze.account_id, nothing, nothing, sa.func.max(Snooze.until)
        )
        .where(scoped(Snooze.account_id), Snooze.created_at < end)
        .group_by(Snooze.account_id)
    )
    rows = session.execute(sa.union_all(touches, contacts, plans, snoozes))
    for kind, account_id, last_at, n, until in rows:
        fact = facts.get(account_id)
        if fact is None:
            continue
        if kind == "touch":
            fact.last_touch_at = utc_value(last_at)
            fact.touches_count = n
        elif kind == "contact":
            fact.contacts_count = n
        elif kind == "plan":
            fact.has_plan = True
        elif until is not None:
            fact.snoozed_until = as_day(until)


def _fill_order_days(
    session: Session, facts: dict[int, AccountFacts], *, where, end: datetime
) -> None:
    """Each account's purchase occasion days, oldest first, and its usual rhythm."""
    days: dict[int, list[date]] = defaultdict(list)
    for account_id, day, _ in session.execute(purchase_occasions(end=end, where=where)):
        days[account_id].append(as_day(day))
    for account_id, account_days in days.items():
        if account_id in facts:
            ordered = sorted(account_days)
            facts[account_id].order_days = ordered
            facts[account_id].usual_gap_days = median_gap([day.toordinal() for day in ordered])


def fill_from_orders(
    session: Session, facts: dict[int, AccountFacts], *, as_of: date, where=sa.true()
) -> None:
    """The order facts of `facts`' accounts, recomputed from every order (one grouped query
    over order days)."""
    end = day_start(as_of + timedelta(days=1))
    since_6m = day_start(months_back(as_of, 6))
    since_12m = day_start(months_back(as_of, 12))
    since_window = day_start(months_back(as_of, RFM_WINDOW_MONTHS))
    daily = order_days(end=end, where=where)
    bought = is_occasion(daily)

    def window_sum(start, stop=None):
        condition = daily.c.first_at >= start
        if stop is not None:
            condition = sa.and_(condition, daily.c.first_at < stop)
        return sa.func.sum(sa.case((condition, daily.c.amount), else_=0))

    orders = sa.select(
        daily.c.account_id,
        sa.func.max(sa.case((bought, daily.c.last_at))).label("last_at"),
        sa.func.sum(sa.case((bought, 1), else_=0)).label("occasions"),
        sa.func.sum(daily.c.rows).label("n"),
        sa.func.sum(daily.c.credit_rows).label("credits"),
        sa.func.sum(daily.c.zero_rows).label("zeros"),
        sa.func.sum(daily.c.amount).label("total"),
        window_sum(since_6m).label("last_6m"),
        window_sum(since_12m, since_6m).label("prev_6m"),
        window_sum(since_12m).label("last_12m"),
        sa.func.sum(sa.case((sa.and_(bought, daily.c.first_at >= since_window), 1), else_=0)).label(
            "w_n"
        ),
        window_sum(since_window).label("w_value"),
    ).group_by(daily.c.account_id)
    for row in session.execute(orders):
        fact = facts.get(row.account_id)
        if fact is None:
            continue
        fact.last_order_at = utc_value(row.last_at)
        fact.occasions = int(row.occasions or 0)
        fact.orders_count = int(row.n or 0)
        fact.credit_rows = int(row.credits or 0)
        fact.zero_rows = int(row.zeros or 0)
        fact.total_value = _as_float(row.total)
        fact.value_last_6m = _as_float(row.last_6m)
        fact.value_prev_6m = _as_float(row.prev_6m)
        fact.value_last_12m = _as_float(row.last_12m)
        fact.window_orders = int(row.w_n or 0)
        fact.window_value = _as_float(row.w_value)
