"""Accounts nobody is reminded of: imported without a rep, or owned by a rep who is no
longer in Slack (reminders go to active reps only)."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlmodel import Session

from bot.retention.report_result import NAMES_SHOWN, Unowned
from models import Account, Rep


def unowned_accounts(*, session: Session, shown: int = NAMES_SHOWN) -> Unowned:
    """How many live accounts have no active owner, and the most valuable few by name."""
    left = select(Rep.id).where(Rep.active.is_(False))  # type: ignore[attr-defined]
    live = (
        or_(Account.owner_id.is_(None), Account.owner_id.in_(left)),  # type: ignore[union-attr]
        Account.archived_at.is_(None),  # type: ignore[union-attr]
    )
    count, gone = session.execute(
        select(func.count(), func.count(Account.owner_id)).select_from(Account).where(*live)
    ).one()
    if not count:
        return Unowned(0)
    rows = session.execute(
        select(Account.name, Account.external_id)
        .where(*live)
        .order_by(Account.annual_value.desc().nulls_last(), Account.name)  # type: ignore[union-attr]
        .limit(shown)
    ).all()
    return Unowned(count, [f"{name} ({external_id})" for name, external_id in rows], left=gone)
