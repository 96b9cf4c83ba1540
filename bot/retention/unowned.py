"""Accounts nobody owns: imported without a rep, so nobody is ever reminded of them."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from bot.retention.report_result import NAMES_SHOWN, Unowned
from models import Account


def unowned_accounts(*, session: Session, shown: int = NAMES_SHOWN) -> Unowned:
    """How many live accounts have no owner, and the most valuable few by name."""
    live = (Account.owner_id.is_(None), Account.archived_at.is_(None))  # type: ignore[union-attr]
    count = session.execute(select(func.count()).select_from(Account).where(*live)).scalar_one()
    if not count:
        return Unowned(0)
    rows = session.execute(
        select(Account.name, Account.external_id)
        .where(*live)
        .order_by(Account.annual_value.desc().nulls_last(), Account.name)  # type: ignore[union-attr]
        .limit(shown)
    ).all()
    return Unowned(count, [f"{name} ({external_id})" for name, external_id in rows])
