"""Accounts nobody owns: imported without a rep, so nobody is ever reminded of them."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlmodel import Session

from models import Account

# The report names this many of them, the most valuable first.
NAMES_SHOWN = 5


@dataclass(frozen=True)
class Unowned:
    count: int
    names: list[str] = field(default_factory=list)  # "Acme Corp (A-17)", most value first

    def to_dict(self) -> dict:
        return {"count": self.count, "first": self.names}

    def sentence(self) -> str:
        """What an admin reads under the report (empty when every account has an owner)."""
        if not self.count:
            return ""
        them = "it" if self.count == 1 else "them"
        accounts = "1 account has" if self.count == 1 else f"{self.count:,} accounts have"
        shown = ", ".join(self.names)
        more = f" and {self.count - len(self.names):,} more" if self.count > len(self.names) else ""
        return (
            f"{accounts} no owner, so nobody is reminded of {them}: {shown}{more}. "
            "Give each a rep with /account owner NAME rep@yourcompany.com "
            "or re-import the accounts with an owner_email column."
        )


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
