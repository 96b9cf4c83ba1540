"""The stored side of the re-buy model, without numpy: the data cut-off, stored fits,
and whether a fit is fresh enough to show.

`rebuy model show`, the card and the scheduler's cheap checks import this module only;
fitting (numpy, scipy) is in `fit_job`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlmodel import Session

from bot.retention.dates import as_day, day_label
from bot.retention.wording import plural
from models import ModelFit, Order, OrderFeed

from .result import FitResult


def last_order_day(*, session: Session) -> date | None:
    """The latest order date: the cut-off for orders loaded before feeds were recorded."""
    latest = session.execute(sa.select(sa.func.max(Order.ordered_at))).scalar()
    return as_day(latest) if latest is not None else None


def latest_feed_through(*, session: Session) -> date | None:
    """The latest through-date of any orders import or sync. The latest, not the newest
    feed's: a later import of a few old orders (a correction file) must not move the
    cut-off back and refit the model on a truncated history."""
    through = session.execute(sa.select(sa.func.max(OrderFeed.through))).scalar()
    if isinstance(through, str):  # SQLite's max() of a date column comes back as text
        through = date.fromisoformat(through[:10])
    return as_day(through) if through is not None else None


def data_cutoff(*, session: Session, configured: date | None = None) -> date | None:
    """The date the order data is complete through: REBUY_DATA_CUTOFF when set, else the
    latest through-date of the imports and syncs, else (orders loaded before feeds were
    recorded) the last order's date. Never "now": T ends here. None without orders."""
    if configured is not None:
        return configured
    return latest_feed_through(session=session) or last_order_day(session=session)


def _stored(value: float) -> float | None:
    return value if math.isfinite(value) else None


def store_fit(
    *, session: Session, result: FitResult, now: datetime, valuable: float | None = None
) -> ModelFit:
    """Store a fit as the workspace's newest (the caller commits)."""
    row = ModelFit(
        r=_stored(result.r),
        alpha=_stored(result.alpha),
        a=_stored(result.a),
        b=_stored(result.b),
        log_likelihood=_stored(result.log_likelihood),
        cutoff=result.cutoff,
        accounts=result.accounts,
        repeaters=result.repeaters,
        fit_seconds=result.fit_seconds,
        reliable=result.reliable,
        reason=result.reason,
        valuable_from=valuable,
        result_json=result.to_json(),
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def latest_fit(*, session: Session) -> ModelFit | None:
    """The newest stored fit, reliable or not."""
    return session.execute(
        sa.select(ModelFit).order_by(ModelFit.created_at.desc(), ModelFit.id.desc()).limit(1)
    ).scalar()


@dataclass(frozen=True)
class FitRun:
    """What one fit job did, in one line for the CLI or the log."""

    fit: ModelFit | None
    line: str


def fit_line(row: ModelFit) -> str:
    """ "Re-buy model fitted to 30 Nov 2026 (600 accounts, 412 repeaters, 1.2 s). Shown to
    reps." or "... Not shown to reps: only 12 accounts have ordered on more than one day."
    """
    head = (
        f"Re-buy model fitted to {day_label(row.cutoff)} ({plural(row.accounts, 'account')}, "
        f"{plural(row.repeaters, 'repeater')}, {row.fit_seconds:.1f} s)"
    )
    if row.reliable:
        return f"{head}. Shown to reps."
    return f"{head}. Not shown to reps: {row.reason}."


# --- freshness: never present an old chance as current -------------------------------

# The fit's data cut-off may be this many days before the day a rep looks and the chance
# reads as current (a weekly export lands a week late, plus a weekend or two).
FRESH_DAYS = 14
# Past this many days (the 90-day horizon the chance is about) it is not shown at all.
EXPIRED_DAYS = 90


@dataclass(frozen=True)
class Freshness:
    """How current a stored fit is on `today`: "current", "dated" (shown with "as of
    <cut-off>") or "expired" (not shown)."""

    state: str
    fit_cutoff: date
    age_days: int
    newer_data: date | None  # a later data cut-off than the fit's, if any

    @property
    def shown(self) -> bool:
        return self.state != "expired"

    @property
    def dated(self) -> bool:
        return self.state == "dated"


def freshness(fit_cutoff: date, *, today: date, data_through: date | None) -> Freshness:
    """Current when the fit is at the latest data cut-off and that is at most FRESH_DAYS
    old; dated when older, or when newer data has come in since the fit (the refit is
    queued); expired after EXPIRED_DAYS."""
    age = (today - fit_cutoff).days
    newer = data_through if data_through is not None and data_through > fit_cutoff else None
    if age > EXPIRED_DAYS:
        state = "expired"
    elif age > FRESH_DAYS or newer is not None:
        state = "dated"
    else:
        state = "current"
    return Freshness(state, fit_cutoff, age, newer)


def fit_is_behind(*, session: Session, configured: date | None = None) -> bool:
    """Whether the data cut-off has moved past the newest fit's (a refit is due)."""
    newest = session.execute(
        sa.select(ModelFit.cutoff).order_by(ModelFit.created_at.desc(), ModelFit.id.desc()).limit(1)
    ).scalar()
    current = data_cutoff(session=session, configured=configured)
    if current is None:
        return False
    if isinstance(newest, str):
        newest = date.fromisoformat(newest[:10])
    return newest is None or newest != current
