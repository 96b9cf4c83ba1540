"""Finding an account from what a rep typed: forgiving about case, accents,
punctuation and typos, honest when several accounts fit."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from bot.retention.errors import AccountNotFound, AmbiguousAccount, InvalidInput
from bot.retention.name_index import name_index
from bot.retention.names import normalize_name
from models import Account

MAX_CANDIDATES = 8
# WRatio scores (0-100): a clear winner at or above MATCH_AT is taken as meant;
# anything from SUGGEST_AT up is offered as "did you mean".
MATCH_AT = 75
CLEAR_LEAD = 5
SUGGEST_AT = 55
# A typo-tolerant guess opens an account only when its typed words match whole words of
# the name this well, no other candidate is within CLEAR_WORD_LEAD, and no other
# candidate shares a typed word exactly; otherwise the rep picks.
WORD_MATCH_AT = 80
WORD_SUGGEST_AT = 60
CLEAR_WORD_LEAD = 10


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _label(name: str, external_id: str, duplicates: set[str]) -> str:
    return f"{name} ({external_id})" if name in duplicates else name


def _decide(query: str, rows: list[tuple[int, str, str]], count=None) -> int | None:
    """One row: that account. Several: ask which. None: keep looking.

    `count()` gives the number of all matches when `rows` was cut at the limit.
    """
    if not rows:
        return None
    if len(rows) == 1:
        return rows[0][0]
    total = count() if count is not None and len(rows) > MAX_CANDIDATES else len(rows)
    names = [name for _, name, _ in rows]
    duplicates = {name for name in names if names.count(name) > 1}
    rows = sorted(rows, key=lambda row: (len(row[1]), row[1].casefold()))
    raise AmbiguousAccount(
        query,
        [(id_, _label(name, ext, duplicates)) for id_, name, ext in rows[:MAX_CANDIDATES]],
        total=total,
    )


@dataclass(frozen=True)
class Match:
    """The account a query means, and how it was found: "id", "name", "prefix", "word"
    (exact kinds) or "fuzzy" (a typo-tolerant guess)."""

    account_id: int
    how: str

    @property
    def exact(self) -> bool:
        return self.how != "fuzzy"


def find_account_id(*, session: Session, query: str) -> int:
    """The id of the one account `query` means, or AccountNotFound / AmbiguousAccount."""
    return find_account_match(session=session, query=query).account_id


def find_account_match(*, session: Session, query: str) -> Match:
    """Like `find_account_id`, also saying how the account was found."""
    query = query.strip()
    key = normalize_name(query)
    if not key:
        raise InvalidInput("Type an account name or its CRM id.")
    columns = (Account.id, Account.name, Account.external_id)

    def rows(condition, *, limit: int | None = MAX_CANDIDATES + 1) -> list[tuple]:
        # Accounts archived in the CRM are found by their id only, never by name.
        if condition is not by_id:
            condition = sa.and_(condition, Account.archived_at.is_(None))
        statement = sa.select(*columns).where(condition)
        if limit:
            statement = statement.limit(limit)
        return [tuple(row) for row in session.execute(statement)]

    def counter(condition):
        live = sa.and_(condition, Account.archived_at.is_(None))
        return lambda: session.execute(
            sa.select(sa.func.count()).select_from(Account).where(live)
        ).scalar_one()

    by_id = Account.external_id == query
    found = _decide(query, rows(by_id, limit=None))
    if found is not None:
        return Match(found, "id")
    found = _decide(query, rows(Account.name_key == key, limit=None))
    if found is not None:
        return Match(found, "name")

    # Names that start with what was typed ("acme" -> "acme corp").
    if session.get_bind().dialect.name == "sqlite":
        # SQLite compares bytes, so a range is an index scan.
        starts = sa.and_(Account.name_key > key + " ", Account.name_key < key + " \uffff")
    else:
        # Elsewhere the collation may ignore spaces in ranges; LIKE is exact.
        starts = Account.name_key.like(f"{_escape_like(key)} %", escape="\\")
    found = _decide(query, rows(starts), counter(starts))
    if found is not None:
        return Match(found, "prefix")
    if len(key) >= 3:
        inside = Account.name_key.like(f"% {_escape_like(key)}%", escape="\\")
        found = _decide(query, rows(inside), counter(inside))
        if found is not None:
            return Match(found, "word")
    if " " not in query:
        # A CRM id typed in another case ("crm-1018"): a scan, so only once names failed.
        found = _decide(query, rows(sa.func.lower(Account.external_id) == query.lower()))
        if found is not None:
            return Match(found, "id")
    return Match(_fuzzy(session=session, query=query, key=key), "fuzzy")


def _fuzzy(*, session: Session, query: str, key: str) -> int:
    # rapidfuzz only here: an exact look-up (most of them) never imports it.
    from rapidfuzz import fuzz, process

    index = name_index(session)
    if not index.ids:
        raise AccountNotFound(query, empty=True)
    # The names sharing most word features with what was typed (an index built once per
    # change of the names); rapidfuzz scores only those. A cheap whole-string pass finds
    # typos fast; WRatio (which also weighs partial and token matches) then ranks those
    # few, or the whole shortlist when the cheap pass found none.
    shortlist = {position: index.keys[position] for position in index.candidates(key)}
    quick = process.extract(key, shortlist, scorer=fuzz.QRatio, limit=20, score_cutoff=SUGGEST_AT)
    if quick:
        shortlist = {m[2]: m[0] for m in quick}
    matches = process.extract(
        key,
        shortlist,
        scorer=fuzz.WRatio,
        limit=MAX_CANDIDATES,
        score_cutoff=None if quick else SUGGEST_AT,
    )
    if not matches:
        raise AccountNotFound(query)
    # WRatio finds candidates but rewards letters inside a word ("the" in
    # "physiotherapy"); the decision uses whole words, the same way in every script.
    ranked = sorted(
        ((word_score(key, index.keys[m[2]]), m[1], m[2]) for m in matches),
        key=lambda r: (-r[0], -r[1]),
    )
    best, rest = ranked[0], ranked[1:]
    # Typed words the best candidate has exactly: when another candidate has all of them
    # too, only a typo tells the two apart, which is not clear enough to act on.
    exact_words = set(key.split()) & set(index.keys[best[2]].split())
    rivals = [
        r
        for r in rest
        if best[0] - r[0] < CLEAR_WORD_LEAD
        or (exact_words and exact_words <= set(index.keys[r[2]].split()))
    ]
    if best[0] >= WORD_MATCH_AT and best[1] >= MATCH_AT and not rivals:
        return index.ids[best[2]]
    close = [best, *rivals] if best[0] >= WORD_SUGGEST_AT else []
    close = [r for r in close if r[0] >= WORD_SUGGEST_AT]
    if len(close) > 1:
        names = [index.names[r[2]] for r in close]
        duplicates = {name for name in names if names.count(name) > 1}
        raise AmbiguousAccount(
            query,
            [
                (
                    index.ids[r[2]],
                    _label(index.names[r[2]], _external_id(session, index.ids[r[2]]), duplicates),
                )
                for r in close
            ],
        )
    raise AccountNotFound(query, [(index.ids[r[2]], index.names[r[2]]) for r in ranked[:3]])


def word_score(query_key: str, name_key: str) -> float:
    """0-100: how well each typed word matches a whole word of the name (typos allowed,
    letters inside a longer word not), averaged over the typed words."""
    words = name_key.split()
    typed = query_key.split()
    if not typed or not words:
        return 0.0
    from rapidfuzz import fuzz

    return sum(max(fuzz.ratio(t, w) for w in words) for t in typed) / len(typed)


def _external_id(session: Session, account_id: int) -> str:
    return session.execute(
        sa.select(Account.external_id).where(Account.id == account_id)
    ).scalar_one()


def find_account(*, session: Session, query: str) -> Account:
    """The Account row `query` means (see `find_account_id`)."""
    return session.get(Account, find_account_id(session=session, query=query))
