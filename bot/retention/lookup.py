"""Finding an account from what a rep typed: forgiving about case, accents,
punctuation and typos, honest when several accounts fit."""

from __future__ import annotations

import sqlalchemy as sa
from rapidfuzz import fuzz, process
from sqlmodel import Session

from bot.retention.errors import AccountNotFound, AmbiguousAccount, InvalidInput
from bot.retention.names import normalize_name
from models import Account

MAX_CANDIDATES = 8
# WRatio scores (0-100): a clear winner at or above MATCH_AT is taken as meant;
# anything from SUGGEST_AT up is offered as "did you mean".
MATCH_AT = 75
CLEAR_LEAD = 5
SUGGEST_AT = 55


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _label(name: str, external_id: str, duplicates: set[str]) -> str:
    return f"{name} ({external_id})" if name in duplicates else name


def _decide(query: str, rows: list[tuple[int, str, str]]) -> Account | None:
    """One row: that account. Several: ask which. None: keep looking."""
    if not rows:
        return None
    if len(rows) == 1:
        return rows[0][0]
    names = [name for _, name, _ in rows]
    duplicates = {name for name in names if names.count(name) > 1}
    rows = sorted(rows, key=lambda row: (len(row[1]), row[1].casefold()))
    raise AmbiguousAccount(
        query, [(id_, _label(name, ext, duplicates)) for id_, name, ext in rows[:MAX_CANDIDATES]]
    )


def find_account_id(*, session: Session, query: str) -> int:
    """The id of the one account `query` means, or AccountNotFound / AmbiguousAccount."""
    query = query.strip()
    key = normalize_name(query)
    if not key:
        raise InvalidInput("Type an account name, for example `/account acme`.")
    columns = (Account.id, Account.name, Account.external_id)

    by_id = session.execute(sa.select(*columns).where(Account.external_id == query)).all()
    exact = session.execute(sa.select(*columns).where(Account.name_key == key)).all()
    found = _decide(query, [tuple(row) for row in by_id]) or _decide(
        query, [tuple(row) for row in exact]
    )
    if found is not None:
        return found

    # Names that start with what was typed ("acme" -> "acme corp").
    if session.get_bind().dialect.name == "sqlite":
        # SQLite compares bytes, so a range is an index scan.
        starts = sa.and_(Account.name_key > key + " ", Account.name_key < key + " \uffff")
    else:
        # Elsewhere the collation may ignore spaces in ranges; LIKE is exact.
        starts = Account.name_key.like(f"{_escape_like(key)} %", escape="\\")
    prefix = session.execute(sa.select(*columns).where(starts).limit(MAX_CANDIDATES + 1)).all()
    found = _decide(query, [tuple(row) for row in prefix])
    if found is not None:
        return found
    if len(key) >= 3:
        words = session.execute(
            sa.select(*columns)
            .where(Account.name_key.like(f"% {_escape_like(key)}%", escape="\\"))
            .limit(MAX_CANDIDATES + 1)
        ).all()
        found = _decide(query, [tuple(row) for row in words])
        if found is not None:
            return found
    return _fuzzy(session=session, query=query, key=key)


def _fuzzy(*, session: Session, query: str, key: str) -> int:
    rows = session.execute(sa.select(Account.id, Account.name, Account.name_key)).all()
    if not rows:
        raise AccountNotFound(query, empty=True)
    matches = process.extract(
        key,
        [row.name_key for row in rows],
        scorer=fuzz.WRatio,
        limit=MAX_CANDIDATES,
        score_cutoff=SUGGEST_AT,
    )
    if not matches:
        raise AccountNotFound(query)
    best_score = matches[0][1]
    close = [m for m in matches if m[1] >= MATCH_AT and best_score - m[1] < CLEAR_LEAD]
    if len(close) == 1:
        return rows[close[0][2]].id
    if len(close) > 1:
        names = [rows[m[2]].name for m in close]
        duplicates = {name for name in names if names.count(name) > 1}
        raise AmbiguousAccount(
            query,
            [
                (
                    rows[m[2]].id,
                    _label(rows[m[2]].name, _external_id(session, rows[m[2]].id), duplicates),
                )
                for m in close
            ],
        )
    raise AccountNotFound(query, [rows[m[2]].name for m in matches[:3]])


def _external_id(session: Session, account_id: int) -> str:
    return session.execute(
        sa.select(Account.external_id).where(Account.id == account_id)
    ).scalar_one()


def find_account(*, session: Session, query: str) -> Account:
    """The Account row `query` means (see `find_account_id`)."""
    return session.get(Account, find_account_id(session=session, query=query))
