"""Every live account's name, with a candidate index for typo-tolerant look-ups.

Built once per change of the names (a cheap fingerprint query decides) and kept in
memory, so a typo or an unknown name costs a few dictionary look-ups plus rapidfuzz over
a short list, instead of rapidfuzz over every name on every call.

The index maps features of each name's words to the positions of the names that have
them: the whole word, and its trigrams padded at both ends ("acme" -> "  a", " ac",
"acm", "cme", "me "), so a dropped, added or changed letter still shares most features.
"""

from __future__ import annotations

import heapq
import threading
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlmodel import Session

from models import Account

# Names ranked by shared features; rapidfuzz then scores only these.
SHORTLIST = 200
# A feature that more than this share of the names (and more than COMMON_AT names) have
# tells them apart too little to be worth counting, unless the query has nothing rarer.
COMMON_SHARE = 0.1
COMMON_AT = 2_000


def features(key: str) -> set[str]:
    """A normalised name's index features: its words and their padded trigrams."""
    found: set[str] = set()
    for word in key.split():
        found.add("=" + word)
        padded = f"  {word} "
        found.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return found


@dataclass
class NameIndex:
    ids: list[int]
    names: list[str]
    keys: list[str]
    postings: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def build(cls, rows: list[tuple[int, str, str]]) -> NameIndex:
        index = cls([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])
        postings: dict[str, list[int]] = {}
        for position, key in enumerate(index.keys):
            for feature in features(key):
                postings.setdefault(feature, []).append(position)
        index.postings = postings
        return index

    def candidates(self, key: str, limit: int = SHORTLIST) -> list[int]:
        """Positions of the names sharing the most features with `key`, best first."""
        lists = [self.postings[f] for f in features(key) if f in self.postings]
        if not lists:
            return []
        common = max(COMMON_AT, int(len(self.keys) * COMMON_SHARE))
        rare = [positions for positions in lists if len(positions) <= common]
        counts: Counter[int] = Counter()
        for positions in rare or [min(lists, key=len)]:
            counts.update(positions)
        if len(counts) <= limit:
            return [p for p, _ in counts.most_common()]
        return [p for p, _ in heapq.nlargest(limit, counts.items(), key=lambda item: item[1])]


# (database URL, fingerprint) -> index. The fingerprint changes with any insert, delete,
# rename or archiving, so an index is never stale.
_INDEXES: dict[tuple[str, tuple], NameIndex] = {}
_KEPT = 4
_LOCK = threading.Lock()


def name_index(session: Session) -> NameIndex:
    """The live accounts' names and candidate index, rebuilt only when names changed."""
    fingerprint = tuple(
        session.execute(
            sa.select(
                sa.func.count(),
                sa.func.max(Account.id),
                sa.func.sum(sa.func.length(Account.name_key)),
                sa.func.max(Account.updated_at),
                sa.func.count(Account.archived_at),
            )
        ).one()
    )
    cache_key = (str(session.get_bind().url), fingerprint)
    with _LOCK:
        index = _INDEXES.get(cache_key)
    if index is None:
        rows = session.execute(
            sa.select(Account.id, Account.name, Account.name_key).where(
                Account.archived_at.is_(None)
            )
        ).all()
        index = NameIndex.build([tuple(row) for row in rows])
        with _LOCK:
            while len(_INDEXES) >= _KEPT:
                _INDEXES.pop(next(iter(_INDEXES)))
            _INDEXES[cache_key] = index
    return index
