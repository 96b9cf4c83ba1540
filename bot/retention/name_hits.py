"""Does a text name an account without guessing? The cheap, non-fuzzy checks the
`/account` command makes before (or instead of) the full look-up."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlmodel import Session

from bot.retention.lookup import finds_without_guessing
from bot.retention.names import normalize_name
from models import Account


def starts_with_an_account(*, session: Session, words: Sequence[str], tried: int) -> bool:
    """Do the first few (up to `tried`) of `words` name an account exactly (`acme` in
    `acme 14`)?"""
    return any(
        finds_without_guessing(session=session, query=" ".join(words[:count]))
        for count in range(min(len(words), tried), 0, -1)
    )


def is_exact_name(*, session: Session, text: str) -> bool:
    """Is `text` exactly an account's name (normalised) or CRM id?"""
    return exact_account(session=session, text=text) is not None


def exact_account(*, session: Session, text: str) -> tuple[int, str] | None:
    """The account whose name (normalised) or CRM id is exactly `text`, live ones first."""
    key = normalize_name(text)
    if not key:
        return None
    row = session.execute(
        sa.select(Account.id, Account.name)
        .where(sa.or_(Account.name_key == key, Account.external_id == text.strip()))
        .order_by(Account.archived_at.is_not(None), Account.id)
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def exact_prefixes(*, session: Session, words: Sequence[str], most: int) -> list[int]:
    """How many leading words (up to `most`) are exactly a live account's name or CRM
    id: every such count, longest first."""
    counts = range(min(len(words), most), 0, -1)
    texts = {n: " ".join(words[:n]) for n in counts}
    keys = {normalize_name(text): n for n, text in texts.items()}
    found = session.execute(
        sa.select(Account.name_key, Account.external_id).where(
            Account.archived_at.is_(None),
            sa.or_(Account.name_key.in_(list(keys)), Account.external_id.in_(texts.values())),
        )
    ).all()
    hits = {keys.get(key, 0) for key, _ in found}
    hits |= {n for n, text in texts.items() for _, external in found if external == text}
    return sorted((n for n in hits if n), reverse=True)
