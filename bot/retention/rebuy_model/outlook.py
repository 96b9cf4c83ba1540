"""What a rep sees of the re-buy model: each account's chance of an order, in words.

Scores come on demand from the newest stored fit (`model_fit`), measured at that fit's
data cut-off (never "now"), and only when the fit is reliable: with no fit, or one that
`rebuy model show` says is not shown, every account's outlook is None and nothing is
shown. P(alive) is never shown on its own.

    "Chance of an order in the next 90 days: 20 % (about 0.3 orders)"
    "worth about $4,100 next quarter"  (accounts with at least 2 order days)

Bands on the chance rounded to 5 %: likely (>= 60 %), unsure, unlikely (< 25 %).

numpy and scipy are imported by the functions that score, never by importing this
module, so the card's and CLI's start-up do not pay for them.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Session

from bot.retention.facts import AccountFacts
from bot.retention.signals import PENALTIES, Signal
from models import ModelFit, Order

if TYPE_CHECKING:
    from .fitting import FitResult
    from .inputs import ModelInputs

HORIZON_DAYS = 90
LIKELY_FROM = 0.60
UNLIKELY_BELOW = 0.25
ROUND_TO = 0.05
# An account is "valuable" with at least this many order days (a rhythm to break) and
# an expected order value at or above the repeaters' median (stored with the fit).
LAPSING_MIN_ORDER_DAYS = 3
ID_CHUNK = 5000


def rounded_chance(chance: float) -> float:
    """The chance rounded to 5 % (0.2249 -> 0.20, 0.225 -> 0.25)."""
    # The epsilon keeps 0.575 (11.4999... steps in binary) rounding up, as printed.
    return math.floor(chance / ROUND_TO + 0.5 + 1e-9) * ROUND_TO


def band_of(chance: float) -> str:
    """ "likely", "unsure" or "unlikely", on the rounded chance the rep reads."""
    shown = round(rounded_chance(chance), 2)
    if shown >= LIKELY_FROM:
        return "likely"
    if shown < UNLIKELY_BELOW:
        return "unlikely"
    return "unsure"


def about_money(value: float) -> str:
    """ "$4,100": two significant figures from $100 up, whole dollars below."""
    if value >= 100:
        digits = math.floor(math.log10(value)) - 1
        value = round(value / 10**digits) * 10**digits
    return f"${value:,.0f}"


def about_orders(value: float) -> str:
    """ "about 0.3 orders", "about 1 order", "about 12 orders"."""
    text = f"{value:.1f}" if value < 9.95 else f"{value:.0f}"
    return f"about {text} order{'' if text == '1' else 's'}"


def _span(days: float) -> str:
    """ "9 days", "8 weeks", "7 months", in the unit a rep would say."""
    if days < 14:
        count, unit = round(days), "day"
    elif days < 120:
        count, unit = round(days / 7), "week"
    else:
        count, unit = round(days / 30.44), "month"
    return f"{count} {unit}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class Outlook:
    """One account's outlook for the next `horizon_days`, from stored fit `fit_id`."""

    fit_id: int
    cutoff: date
    chance: float  # of at least one order in the horizon
    expected_orders: float
    expected_value: float | None  # None without 2 order days or a usable spend fit
    order_value: float | None  # Gamma-Gamma expected value of one order
    order_days: int
    usual_gap_days: float | None  # mean days between order days (None with one)
    silent_days: int  # from the last order day to the data cut-off
    valuable: bool
    horizon_days: int = HORIZON_DAYS

    @property
    def shown_chance(self) -> float:
        return rounded_chance(self.chance)

    @property
    def percent(self) -> int:
        return round(self.shown_chance * 100)

    @property
    def band(self) -> str:
        return band_of(self.chance)

    @property
    def lapsing(self) -> bool:
        """A valuable account whose chance fell below the unlikely band."""
        return self.valuable and self.band == "unlikely"

    def chance_text(self) -> str:
        return (
            f"Chance of an order in the next {self.horizon_days} days: {self.percent} % "
            f"({about_orders(self.expected_orders)})"
        )

    def value_text(self) -> str | None:
        if self.expected_value is None:
            return None
        return f"worth about {about_money(self.expected_value)} next quarter"

    def line(self) -> str:
        """The whole outlook in one line, for a card, a reminder or the Home tab."""
        value = self.value_text()
        return f"{self.chance_text()}, {value}" if value else self.chance_text()

    def lapsing_reason(self) -> str:
        """ "Usually orders every 8 weeks, silent 12 weeks: chance of an order in the next
        90 days down to 15 %." """
        rhythm = (
            f"Usually orders every {_span(self.usual_gap_days)}, " if self.usual_gap_days else ""
        )
        silent = f"silent {_span(self.silent_days)}"
        head = f"{rhythm}{silent}" if rhythm else silent.capitalize()
        return (
            f"{head}: chance of an order in the next {self.horizon_days} days down to "
            f"{self.percent} %."
        )

    def to_dict(self) -> dict:
        return {
            "fit_id": self.fit_id,
            "cutoff": self.cutoff.isoformat(),
            "horizon_days": self.horizon_days,
            "chance_of_order": round(self.chance, 4),
            "chance_shown": self.percent,
            "band": self.band,
            "expected_orders": round(self.expected_orders, 4),
            "expected_value": None
            if self.expected_value is None
            else round(self.expected_value, 2),
            "likely_lapsing": self.lapsing,
        }


def lapsing_signal(outlook: Outlook | None) -> Signal | None:
    """`likely_lapsing` for a valuable account whose chance fell below the unlikely band."""
    if outlook is None or not outlook.lapsing:
        return None
    return Signal("likely_lapsing", outlook.lapsing_reason(), PENALTIES["likely_lapsing"])


def with_outlook(
    signals: list[Signal], outlook: Outlook | None, *, as_of: date
) -> tuple[list[Signal], Outlook | None]:
    """The signals with `likely_lapsing` added when it applies, and the outlook to show:
    none for a day before the fit's data cut-off (a replayed past must not see later
    orders)."""
    if outlook is None or as_of < outlook.cutoff:
        return signals, None
    lapsing = lapsing_signal(outlook)
    return ([*signals, lapsing] if lapsing else signals), outlook


def with_outlook_line(reasons: list[str], outlook: Outlook | None) -> list[str]:
    """A reminder's reasons with the outlook second (after the most important one),
    unless `likely_lapsing` already says the chance."""
    if outlook is None or outlook.lapsing:
        return reasons
    return [*reasons[:1], f"{outlook.line()}.", *reasons[1:]]


# --- the stored fit, parsed once per fit ------------------------------------------------

_LOCK = threading.Lock()
_FITS: OrderedDict[tuple, tuple[FitResult, float | None]] = OrderedDict()
_WORKSPACE: OrderedDict[tuple, dict[int, Outlook]] = OrderedDict()
_KEEP = 4


def _remember(cache: OrderedDict, key: tuple, value) -> None:
    with _LOCK:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > _KEEP:
            cache.popitem(last=False)


def _shown_fit(session: Session) -> tuple[tuple, ModelFit] | None:
    """The newest fit when it may be shown, with its cache key; None otherwise."""
    row = session.execute(
        sa.select(ModelFit.id, ModelFit.reliable, ModelFit.created_at)
        .order_by(ModelFit.created_at.desc(), ModelFit.id.desc())
        .limit(1)
    ).first()
    if row is None or not row.reliable:
        return None
    # Per database and fit: several test databases (or workspaces) share one process.
    key = (session.get_bind().url.render_as_string(hide_password=True), row.id, row.created_at)
    return key, row


def _fit_result(session: Session, key: tuple, fit_id: int) -> tuple[FitResult, float | None]:
    cached = _FITS.get(key)
    if cached is not None:
        return cached
    from .fitting import FitResult

    stored = session.get(ModelFit, fit_id)
    value = (FitResult.from_json(stored.result_json), stored.valuable_from)
    _remember(_FITS, key, value)
    return value


def _orders_of(session: Session, account_ids: Collection[int] | None) -> Iterable[tuple]:
    query = sa.select(Order.account_id, Order.ordered_at, Order.amount)
    if account_ids is None:
        return session.execute(query).all()
    ids = list(account_ids)
    rows: list[tuple] = []
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start : start + ID_CHUNK]
        rows.extend(session.execute(query.where(Order.account_id.in_(chunk))).all())
    return rows


def _score(
    fit_id: int, fit: FitResult, valuable_from: float | None, rows: Iterable[tuple]
) -> dict[int, Outlook]:
    from .inputs import build_inputs

    inputs = build_inputs(rows, cutoff=fit.cutoff, unit=fit.unit)
    return outlooks_from_inputs(fit_id, fit, valuable_from, inputs)


def outlooks_from_inputs(
    fit_id: int, fit: FitResult, valuable_from: float | None, inputs: ModelInputs
) -> dict[int, Outlook]:
    """Every account's outlook from the model inputs at the fit's cut-off (numpy for the
    scores, one small object per account)."""
    import numpy as np

    from . import gamma_gamma
    from .fitting import score_accounts
    from .inputs import unit_days

    if not len(inputs):
        return {}
    scores = score_accounts(fit, inputs, horizon_days=HORIZON_DAYS)
    per_day = unit_days(inputs.unit)
    order_value = np.full(len(inputs), np.nan)
    spend = fit.spend
    if spend is not None and spend.reliable:
        with np.errstate(invalid="ignore", divide="ignore"):
            order_value = np.where(
                inputs.x > 0,
                gamma_gamma.expected_order_value(
                    gamma_gamma.GammaGammaParams(spend.p, spend.q, spend.gamma),
                    inputs.x,
                    np.nan_to_num(inputs.mean_value),
                ),
                np.nan,
            )
    result: dict[int, Outlook] = {}
    columns = zip(
        inputs.accounts,
        scores.chance_of_order.tolist(),
        scores.expected_orders.tolist(),
        scores.expected_value.tolist(),
        order_value.tolist(),
        inputs.x.tolist(),
        inputs.t_x.tolist(),
        inputs.T.tolist(),
        strict=True,
    )
    for account_id, chance, orders, value, each, x, t_x, big_t in columns:
        if not (math.isfinite(chance) and math.isfinite(orders)):
            continue  # a non-finite score is never shown
        value = value if math.isfinite(value) else None
        each = each if math.isfinite(each) else None
        days = int(x) + 1
        result[account_id] = Outlook(
            fit_id=fit_id,
            cutoff=fit.cutoff,
            chance=chance,
            expected_orders=orders,
            expected_value=value,
            order_value=each,
            order_days=days,
            usual_gap_days=t_x * per_day / x if x > 0 else None,
            silent_days=round((big_t - t_x) * per_day),
            valuable=(
                days >= LAPSING_MIN_ORDER_DAYS
                and each is not None
                and valuable_from is not None
                and each >= valuable_from
            ),
        )
    return result


def outlooks_for(*, session: Session, account_ids: Collection[int]) -> dict[int, Outlook]:
    """The outlooks of a few accounts (a card, a reminder batch); {} when not shown.

    Uses the whole workspace's scores when they are cached for this fit, else scores
    just these accounts from their own orders."""
    if not account_ids:
        return {}
    shown = _shown_fit(session)
    if shown is None:
        return {}
    key, row = shown
    cached = _WORKSPACE.get(key + _fingerprint(session))
    if cached is not None:
        return {i: cached[i] for i in account_ids if i in cached}
    fit, valuable_from = _fit_result(session, key, row.id)
    return _score(row.id, fit, valuable_from, _orders_of(session, account_ids))


def account_outlook(*, session: Session, account_id: int) -> Outlook | None:
    """One account's outlook (the card), or None when nothing is shown for it."""
    return outlooks_for(session=session, account_ids=[account_id]).get(account_id)


def _fingerprint(session: Session) -> tuple:
    # The orders behind cached scores: a changed table means new scores, same fit.
    count, last = session.execute(sa.select(sa.func.count(), sa.func.max(Order.id))).one()
    return (count, last)


def workspace_outlooks(*, session: Session) -> dict[int, Outlook]:
    """Every account's outlook (the report, ranking a sweep), cached per stored fit and
    state of the orders table; {} when no fit may be shown."""
    shown = _shown_fit(session)
    if shown is None:
        return {}
    key, row = shown
    full_key = key + _fingerprint(session)
    cached = _WORKSPACE.get(full_key)
    if cached is not None:
        return cached
    fit, valuable_from = _fit_result(session, key, row.id)
    outlooks = _score(row.id, fit, valuable_from, _orders_of(session, None))
    _remember(_WORKSPACE, full_key, outlooks)
    return outlooks


# --- the workspace's forecast, for the report -----------------------------------------


@dataclass(frozen=True)
class RebuyForecast:
    """The next 90 days across the workspace, from the stored fit."""

    fit_id: int
    fit: dict
    expected_rebuyers: float  # the sum of the accounts' chances of an order
    scored_accounts: int
    value_at_risk: float  # a quarter's value x the chance of no order, summed
    accounts: list[dict]
    horizon_days: int = HORIZON_DAYS

    def to_dict(self) -> dict:
        return {
            "fit_id": self.fit_id,
            "fit": self.fit,
            "horizon_days": self.horizon_days,
            "expected_rebuyers": round(self.expected_rebuyers, 1),
            "scored_accounts": self.scored_accounts,
            "value_at_risk": round(self.value_at_risk, 2),
            "accounts": self.accounts,
        }


def rebuy_forecast(
    *, session: Session, facts: Mapping[int, AccountFacts], as_of: date
) -> RebuyForecast | None:
    """Expected re-buyers and value at risk over the accounts in `facts`; None when no
    reliable fit is stored or `as_of` is before its data cut-off."""
    from bot.retention.urgency import value_at_stake

    outlooks = workspace_outlooks(session=session)
    if not outlooks:
        return None
    any_outlook = next(iter(outlooks.values()))
    if as_of < any_outlook.cutoff:
        return None
    rebuyers = 0.0
    at_risk = 0.0
    accounts = []
    for account_id, fact in facts.items():
        seen = outlooks.get(account_id)
        if seen is None:
            continue
        rebuyers += seen.chance
        at_risk += value_at_stake(fact) / 4 * (1 - seen.chance)
        accounts.append({"id": account_id, "name": fact.name, **seen.to_dict()})
    stored = session.get(ModelFit, any_outlook.fit_id)
    return RebuyForecast(
        fit_id=any_outlook.fit_id,
        fit=json.loads(stored.result_json),
        expected_rebuyers=rebuyers,
        scored_accounts=len(accounts),
        value_at_risk=at_risk,
        accounts=accounts,
    )
