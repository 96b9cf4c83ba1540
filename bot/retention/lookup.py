"""Finding an account from what a rep typed: forgiving about case, accents,
punctuation and typos, honest when several accounts fit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session

from bot.retention.errors import AccountNotFound, AmbiguousAccount, InvalidInput
from bot.retention.name_index import NameIndex, name_index
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


Row = tuple[int, str, str]  # (account id, name, CRM id)


def _label(name: str, external_id: str, duplicates: set[str]) -> str:
    return f"{name} ({external_id})" if name in duplicates else name


def _decide(query: str, rows: list[Row]) -> int | None:
    """One row: that account. Several: ask which (the shortest names first). None: keep
    looking."""
    if not rows:
        return None
    if len(rows) == 1:
        return rows[0][0]
    duplicates = {name for name, n in Counter(name for _, name, _ in rows).items() if n > 1}
    shown = sorted(rows, key=lambda row: (len(row[1]), row[1].casefold()))[:MAX_CANDIDATES]
    raise AmbiguousAccount(
        query,
        [(id_, _label(name, ext, duplicates)) for id_, name, ext in shown],
        total=len(rows),
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
    for how, rows in _without_guessing(session, query, key):
        found = _decide(query, rows)
        if found is not None:
            return Match(found, how)
    return Match(_fuzzy(index=name_index(session), query=query, key=key), "fuzzy")


def finds_without_guessing(*, session: Session, query: str) -> bool:
    """Would `find_account_match` find `query` without guessing (a CRM id, the name, the
    start of a name or of a word in it)? No table scan: the name index answers."""
    query = query.strip()
    key = normalize_name(query)
    return bool(key) and any(rows for _, rows in _without_guessing(session, query, key))


def _without_guessing(session: Session, query: str, key: str) -> Iterator[tuple[str, list[Row]]]:
    """Each exact way of finding `query`, in order, with the accounts it finds; lazily,
    so the name index is only consulted when the CRM id and the name both missed."""
    columns = (Account.id, Account.name, Account.external_id)

    def where(condition) -> list[Row]:
        return [tuple(row) for row in session.execute(sa.select(*columns).where(condition))]

    # Accounts archived in the CRM are found by their id only, never by name.
    yield "id", where(Account.external_id == query)
    yield "name", where(sa.and_(Account.name_key == key, Account.archived_at.is_(None)))
    index = name_index(session)
    # Names that start with what was typed ("acme" -> "acme corp").
    yield "prefix", _rows(index, index.starting_with(key))
    if len(key) >= 3:
        yield "word", _rows(index, index.with_word_starting(key))
    if " " not in query:
        # A CRM id typed in another case ("crm-1018"), once the names failed.
        yield "id", _rows(index, index.with_lower_external_id(query))


def _rows(index: NameIndex, positions: list[int]) -> list[Row]:
    return [(index.ids[p], index.names[p], index.external_ids[p]) for p in positions]


def _fuzzy(*, index: NameIndex, query: str, key: str) -> int:
    # rapidfuzz only here: an exact look-up (most of them) never imports it.
    from rapidfuzz import fuzz, process

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
                (index.ids[r[2]], _label(index.names[r[2]], index.external_ids[r[2]], duplicates))
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
