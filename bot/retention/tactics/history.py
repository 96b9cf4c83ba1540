"""What the rep has seen or used on an account: tactic exposures (shown on a card or a
reminder) and touches that used a tactic, for the recommender's rotation."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func as sa_func
from sqlmodel import Session, col, select

from bot.clock import as_utc, aware_utc
from bot.retention.tactics.vocabulary import MAX_SURFACE
from models import TacticExposure, Touch


def last_seen(
    *, session: Session, account_id: int, now: datetime, days: int, today: datetime
) -> dict[str, datetime]:
    """When each tactic was last shown or used on the account, within the window.

    A tactic shown since `today` (the start of the rep's own day) only counts once a
    touch was logged after it: viewing the card again the same day shows the same
    advice; the next day, or after a touch, it rotates.
    """
    if days <= 0:
        return {}
    since = now - timedelta(days=days)
    last_touch = session.exec(
        select(sa_func.max(Touch.touched_at)).where(Touch.account_id == account_id)
    ).one()
    last_touch = as_utc(last_touch)
    stable_from = max(today, last_touch) if last_touch is not None else today
    shown = session.exec(
        select(TacticExposure.tactic_id, TacticExposure.shown_at).where(
            TacticExposure.account_id == account_id,
            TacticExposure.shown_at > since,
            TacticExposure.shown_at < stable_from,
        )
    ).all()
    used = session.exec(
        select(Touch.tactic_id, Touch.touched_at).where(
            Touch.account_id == account_id,
            col(Touch.tactic_id).is_not(None),
            Touch.touched_at > since,
        )
    ).all()
    last: dict[str, datetime] = {}
    for tactic_id, when in (*shown, *used):
        if tactic_id and (tactic_id not in last or when > last[tactic_id]):
            last[tactic_id] = when
    return last


def record_exposure(
    *,
    session: Session,
    account_id: int,
    tactic_ids: Sequence[str],
    now: datetime,
    surface: str,
) -> None:
    """Remember that these tactics were shown for the account; flushes, the caller commits."""
    if not surface or len(surface) > MAX_SURFACE:
        raise ValueError(f"surface must be 1-{MAX_SURFACE} characters (got {surface!r})")
    now = aware_utc(now)
    for tactic_id in dict.fromkeys(tactic_ids):
        session.add(
            TacticExposure(
                account_id=account_id, tactic_id=tactic_id, shown_at=now, surface=surface
            )
        )
    session.flush()
