"""What a rep sees of the re-buy model: each account's chance of an order, in words.

Scores come on demand from the newest stored fit (`model_fit`), measured at that fit's
data cut-off (never "now"), and only when the fit is reliable: with no fit, or one that
`rebuy model show` says is not shown, every account's outlook is None and nothing is
shown. P(alive) is never shown on its own.

    "Chance of an order in the next 90 days: 20 % (less than one order expected)"
    "worth about $4,100 next quarter"  (accounts with at least 2 order days)

A fit whose cut-off is more than `store.FRESH_DAYS` old on the day the rep looks, or
behind newer data, reads "As of 31 Mar, chance of an order ..."; past
`store.EXPIRED_DAYS` nothing is shown (see `with_outlook`).

Importing this module loads no numpy; scoring loads numpy (`scores`, `inputs`), never
scipy.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Session

from bot.retention.facts import AccountFacts, day_start
from bot.retention.occasions import purchase_occasions
from bot.retention.results import HORIZON_DAYS, Outlook, Signal
from bot.retention.signals import PENALTIES
from bot.retention.wording import plural
from models import ModelFit, Order

from .store import freshness, latest_feed_through
from .words import (
    percent_text,
    short_day,
)

if TYPE_CHECKING:
    from .inputs import ModelInputs
    from .result import FitResult

# An account is "valuable" with at least this many order days (a rhythm to break) and
# an expected order value at or above the repeaters' median (stored with the fit).
LAPSING_MIN_ORDER_DAYS = 3
ID_CHUNK = 5000


def lapsing_reason(
    outlook: Outlook, facts: AccountFacts | None, signals: list[Signal], as_of: date
) -> str:
    """Why a valuable account is likely lapsing, in one story with the card's other lines:
    the rhythm is the signals' own figure (median days between order days, as off_rhythm
    and the tactics say it), and is left out when off_rhythm already says it.

    "Usually orders every 56 days, last order 70 days ago: chance of an order in the next
    90 days down to 15 %."
    """
    window = f"the next {outlook.horizon_days} days"
    if outlook.dated:
        window = f"the {outlook.horizon_days} days after {short_day(outlook.cutoff)}"
    chance = f"hance of an order in {window} down to {percent_text(outlook.chance)}."
    gap = facts.usual_gap_days if facts is not None else None
    said = any(signal.name == "off_rhythm" for signal in signals)
    last = facts.last_order_day if facts is not None else None
    if gap and last is not None and not said:
        since = (as_of - last).days
        every, ago = plural(round(gap), "day"), plural(since, "day")
        return f"Usually orders every {every}, last order {ago} ago: c{chance}"
    return f"A valuable account going quiet: c{chance}"


def lapsing_signal(
    outlook: Outlook | None,
    facts: AccountFacts | None = None,
    signals: list[Signal] = (),
    *,
    as_of: date | None = None,
) -> Signal | None:
    """`likely_lapsing` for a valuable account whose chance fell below the unlikely band."""
    if outlook is None or not outlook.lapsing:
        return None
    reason = lapsing_reason(outlook, facts, list(signals), as_of or outlook.cutoff)
    return Signal("likely_lapsing", reason, PENALTIES["likely_lapsing"])


def with_outlook(
    signals: list[Signal],
    outlook: Outlook | None,
    *,
    as_of: date,
    facts: AccountFacts | None = None,
) -> tuple[list[Signal], Outlook | None]:
    """The signals with `likely_lapsing` added when it applies, and the outlook to show.

    None for a day before the fit's data cut-off (a replayed past must not see later
    orders), for an account that has ordered since the cut-off, or once the fit has
    expired; marked dated ("As of ...") when it is not current on `as_of` (see
    `store.freshness`). `as_of` is a rep's local day and the cut-off a UTC day (a sync's
    start): a rep west of UTC may be one day behind it."""
    if outlook is None or as_of < outlook.cutoff - timedelta(days=1):
        return signals, None
    if facts is not None and facts.last_order_day and facts.last_order_day > outlook.cutoff:
        # It has ordered since the data cut-off: the chance of an order after it is settled.
        return signals, None
    fresh = freshness(outlook.cutoff, today=as_of, data_through=outlook.newer_data)
    if not fresh.shown:
        return signals, None
    if fresh.dated:
        outlook = replace(outlook, dated=True)
    lapsing = lapsing_signal(outlook, facts, signals, as_of=as_of)
    return ([*signals, lapsing] if lapsing else signals), outlook


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
        sa.select(
            ModelFit.id,
            ModelFit.reliable,
            ModelFit.created_at,
            ModelFit.cutoff,
            ModelFit.log_likelihood,
            ModelFit.valuable_from,
        )
        .order_by(ModelFit.created_at.desc(), ModelFit.id.desc())
        .limit(1)
    ).first()
    if row is None or not row.reliable:
        return None
    # Per database and fit, by content too: a database emptied and refilled (tests, a
    # restore) can give another fit the same id and time.
    url = session.get_bind().url.render_as_string(hide_password=True)
    key = (url, *row)
    return key, row


def _fit_result(session: Session, key: tuple, fit_id: int) -> tuple[FitResult, float | None]:
    cached = _FITS.get(key)
    if cached is not None:
        return cached
    from .result import FitResult

    stored = session.get(ModelFit, fit_id)
    value = (FitResult.from_json(stored.result_json), stored.valuable_from)
    _remember(_FITS, key, value)
    return value


def _occasions_of(
    session: Session, account_ids: Collection[int] | None, cutoff: date
) -> Iterable[tuple]:
    """The accounts' purchase occasions up to the cut-off (the signals' definition)."""
    end = day_start(cutoff + timedelta(days=1))
    if account_ids is None:
        return session.execute(purchase_occasions(end=end)).all()
    ids = list(account_ids)
    rows: list[tuple] = []
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start : start + ID_CHUNK]
        query = purchase_occasions(end=end, where=Order.account_id.in_(chunk))
        rows.extend(session.execute(query).all())
    return rows


def outlooks_from_inputs(
    fit_id: int,
    fit: FitResult,
    valuable_from: float | None,
    inputs: ModelInputs,
    *,
    newer_data: date | None = None,
) -> dict[int, Outlook]:
    """Every account's outlook from the model inputs at the fit's cut-off (numpy for the
    scores, one small object per account)."""
    import numpy as np

    from .result import GammaGammaParams
    from .scores import expected_order_value, score_accounts

    if not len(inputs):
        return {}
    scores = score_accounts(fit, inputs, horizon_days=HORIZON_DAYS)
    order_value = np.full(len(inputs), np.nan)
    spend = fit.spend
    if spend is not None and spend.reliable:
        with np.errstate(invalid="ignore", divide="ignore"):
            order_value = np.where(
                inputs.x > 0,
                expected_order_value(
                    GammaGammaParams(spend.p, spend.q, spend.gamma),
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
        strict=True,
    )
    for account_id, chance, orders, value, each, x in columns:
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
            valuable=(
                days >= LAPSING_MIN_ORDER_DAYS
                and each is not None
                and valuable_from is not None
                and each >= valuable_from
            ),
            newer_data=newer_data,
        )
    return result


def _newer_data(session: Session, fit: FitResult) -> date | None:
    # The order feeds only (a small table): cheap enough for every card.
    through = latest_feed_through(session=session)
    return through if through is not None and through > fit.cutoff else None


def outlooks_for(*, session: Session, account_ids: Collection[int]) -> dict[int, Outlook]:
    """The outlooks of a few accounts (a card, a reminder batch); {} when not shown.

    Uses the whole workspace's scores when they are cached for this fit, else scores
    just these accounts from their own occasions."""
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
    rows = _occasions_of(session, account_ids, fit.cutoff)
    from .inputs import build_inputs

    inputs = build_inputs(rows, cutoff=fit.cutoff, unit=fit.unit)
    newer = _newer_data(session, fit)
    return outlooks_from_inputs(row.id, fit, valuable_from, inputs, newer_data=newer)


def account_outlook(*, session: Session, account_id: int) -> Outlook | None:
    """One account's outlook (the card), or None when nothing is shown for it."""
    return outlooks_for(session=session, account_ids=[account_id]).get(account_id)


def _fingerprint(session: Session) -> tuple:
    # The orders and feeds behind cached scores: a changed table means new scores.
    count, last = session.execute(sa.select(sa.func.count(), sa.func.max(Order.id))).one()
    return (count, last, latest_feed_through(session=session))


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
    from .inputs import build_inputs

    inputs = build_inputs(
        _occasions_of(session, None, fit.cutoff), cutoff=fit.cutoff, unit=fit.unit
    )
    newer = _newer_data(session, fit)
    outlooks = outlooks_from_inputs(row.id, fit, valuable_from, inputs, newer_data=newer)
    _remember(_WORKSPACE, full_key, outlooks)
    return outlooks
