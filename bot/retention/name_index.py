"""Every live account's name, with a candidate index for the look-ups that are not an
exact name or CRM id (a start of a name, a word in it, a CRM id in another case, a typo).

Built once per change of the names and kept in memory: the database keeps a stamp
(`account_names_stamp`, one row) that triggers on `account` replace whenever a name, a
normalised name, a CRM id or the archived flag changes, or an account comes or goes
(migration 0010). Reading the stamp is one primary-key look-up, so the serving process
checks it on every look-up and rebuilds only when it moved; nothing is ever stale.

The index maps features of each name's words to the positions of the names that have
them: the whole word, and its trigrams padded at both ends ("acme" -> "  a", " ac",
"acm", "cme", "me "), so a dropped, added or changed letter still shares most features.
It is built with numpy (about a third of a second for 100,000 names), so even a new
`rebuy account` process that meets a typo pays little.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Session

from models import Account, AccountNamesStamp

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

# How often the serving process checks the names' stamp in the background (seconds).
WARM_EVERY_SECONDS = 20.0

# Names ranked by shared features; rapidfuzz then scores only these.
SHORTLIST = 200
# A feature that more than this share of the names (and more than COMMON_AT names) have
# tells them apart too little to be worth counting, unless the query has nothing rarer.
COMMON_SHARE = 0.1
COMMON_AT = 2_000
# Code points take 21 bits: three of them make one trigram's integer code.
_BITS = 21
_WORD_GAP, _NAME_GAP = "\x01", "\x02"


def features(key: str) -> set[str]:
    """A normalised name's index features: its words ("=acme") and their padded trigrams."""
    found: set[str] = set()
    for word in key.split():
        found.add("=" + word)
        found.update(trigrams(word))
    return found


def trigrams(word: str) -> list[str]:
    padded = f"  {word} "
    return [padded[i : i + 3] for i in range(len(padded) - 2)]


def _code(trigram: str) -> int:
    a, b, c = (ord(ch) for ch in trigram)
    return (a << 2 * _BITS) | (b << _BITS) | c


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending (np.unique hashes first, which is slower here)."""
    import numpy as np

    ordered = np.sort(values)
    keep = np.ones(len(ordered), dtype=bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    return ordered[keep]


@dataclass
class Postings:
    """Sorted positions of the names with each feature: feature k (the k-th smallest
    feature number) owns positions[starts[k]:starts[k + 1]]."""

    features: np.ndarray  # the feature numbers, ascending
    starts: np.ndarray
    positions: np.ndarray

    def of(self, feature: int) -> np.ndarray | None:
        import numpy as np

        k = int(np.searchsorted(self.features, feature))
        if k == len(self.features) or self.features[k] != feature:
            return None
        return self.positions[self.starts[k] : self.starts[k + 1]]

    @classmethod
    def build(cls, feature_of: np.ndarray, position_of: np.ndarray, names: int) -> Postings:
        """From parallel arrays of features and name positions (a name with a feature
        twice, as "ana" in "banana", counts once). Plain sorts of integers only: numpy
        sorts values far faster than it ranks them (argsort)."""
        import numpy as np

        features = _distinct(feature_of)
        pairs = _distinct(np.searchsorted(features, feature_of) * max(names, 1) + position_of)
        numbers, positions = np.divmod(pairs, max(names, 1))
        starts = np.zeros(len(features) + 1, dtype=np.int64)
        np.cumsum(np.bincount(numbers, minlength=len(features)), out=starts[1:])
        return cls(features, starts, positions.astype(np.int32))


@dataclass
class NameIndex:
    """The live accounts (ids, names, normalised keys, CRM ids, all by position) and
    their features' postings."""

    ids: list[int]
    names: list[str]
    keys: list[str]
    external_ids: list[str]
    _trigrams: Postings | None = None  # by trigram code
    _words: dict[str, int] = field(default_factory=dict)
    _word_postings: Postings | None = None
    _lower_ids: dict[str, int] = field(default_factory=dict)
    _lower_twins: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def build(cls, rows: list[tuple[int, str, str, str]]) -> NameIndex:
        """Rows of (id, name, normalised name, CRM id)."""
        import numpy as np

        index = cls(
            [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows]
        )
        keys = index.keys
        # Trigrams, all at once: every word padded as "  word " in one string, words and
        # names set apart by markers no trigram may contain.
        text = "\x00".join(keys)
        padded = "  " + text.replace(" ", f" {_WORD_GAP}  ").replace("\x00", f" {_NAME_GAP}  ")
        points = np.frombuffer((padded + " ").encode("utf-32-le"), dtype=np.uint32)
        marker = points < 3  # the two gaps (no other control character survives normalising)
        at = np.flatnonzero(~(marker[:-2] | marker[1:-1] | marker[2:]))
        codes = points[at].astype(np.int64) << 2 * _BITS
        codes |= points[at + 1].astype(np.int64) << _BITS
        codes |= points[at + 2]
        owners = np.searchsorted(np.flatnonzero(points == ord(_NAME_GAP)), at)
        index._trigrams = Postings.build(codes, owners, len(keys))
        # Whole words: numbered in a dict (far fewer distinct words than names).
        words = text.replace("\x00", " ").split()
        index._words = dict(zip(dict.fromkeys(words), itertools.count()))
        word_of = np.fromiter(map(index._words.__getitem__, words), dtype=np.int64)
        counts = np.fromiter(map(len, map(str.split, keys)), dtype=np.int64, count=len(keys))
        owners = np.repeat(np.arange(len(keys), dtype=np.int64), counts)
        index._word_postings = Postings.build(word_of, owners, len(keys))
        # CRM ids in lower case; ids that differ only in case (rare) keep every position.
        lowered = list(map(str.lower, index.external_ids))
        index._lower_ids = dict(zip(lowered, itertools.count()))  # the last position of each
        if len(index._lower_ids) < len(lowered):
            for position, text in enumerate(lowered):
                last = index._lower_ids[text]
                if last != position:
                    index._lower_twins.setdefault(text, [last]).append(position)
        return index

    def postings(self, feature: str) -> np.ndarray | None:
        """Positions of the names with `feature` ("=word" or a padded trigram)."""

        if feature.startswith("="):
            number = self._words.get(feature[1:])
            return None if number is None else self._word_postings.of(number)
        if len(feature) != 3 or self._trigrams is None:
            return None
        return self._trigrams.of(_code(feature))

    def candidates(self, key: str, limit: int = SHORTLIST) -> list[int]:
        """Positions of the names sharing the most features with `key`, best first (ties
        by position)."""
        import numpy as np

        lists = [p for p in map(self.postings, features(key)) if p is not None]
        if not lists:
            return []
        common = max(COMMON_AT, int(len(self.keys) * COMMON_SHARE))
        rare = [positions for positions in lists if len(positions) <= common]
        counts = np.bincount(
            np.concatenate(rare or [min(lists, key=len)]), minlength=len(self.keys)
        )
        found = np.flatnonzero(counts)
        if len(found) > limit:
            found = found[np.argpartition(-counts[found], limit - 1, kind="introselect")[:limit]]
        # Most shared features first, then position: a stable order for ties.
        found = found[np.lexsort((found, -counts[found]))]
        return found.tolist()

    def starting_with(self, key: str) -> list[int]:
        """Positions of the names that start with the whole words of `key` and go on
        ("acme" -> "acme corp", not "acme" itself nor "acmeco")."""
        words = key.split()
        lists = [self.postings("=" + word) for word in words]
        if not words or any(p is None for p in lists):
            return []
        start = key + " "
        return [p for p in min(lists, key=len).tolist() if self.keys[p].startswith(start)]

    def with_word_starting(self, key: str) -> list[int]:
        """Positions of the names where `key` starts at a word other than the first
        ("sky" -> "blue sky labs", "sky lab" -> "blue sky labs")."""
        words = key.split()
        if not words:
            return []
        # The typed words but the last are whole words of the name; the last one starts one.
        needed = ["=" + word for word in words[:-1]] + trigrams(words[-1])[:-1]
        lists = [self.postings(feature) for feature in needed]
        if any(p is None for p in lists):
            return []
        inside = " " + key
        return [p for p in min(lists, key=len).tolist() if inside in self.keys[p]]

    def with_lower_external_id(self, text: str) -> list[int]:
        """Positions of the accounts whose CRM id is `text` in any case."""
        text = text.lower()
        if text in self._lower_twins:
            return sorted(self._lower_twins[text])
        position = self._lower_ids.get(text)
        return [] if position is None else [position]


# Database URL -> (stamp, index): the newest index of each database.
_INDEXES: dict[str, tuple[str, NameIndex]] = {}
_KEPT = 8
_LOCK = threading.Lock()
_BUILDING: dict[str, threading.Lock] = {}


def names_stamp(session: Session) -> str | None:
    """The stamp that changes with every change of the names (None: never set, e.g. a
    database that never had an account)."""
    return session.execute(
        sa.select(AccountNamesStamp.token).where(AccountNamesStamp.id == 1)
    ).scalar_one_or_none()


def index_is_current(session: Session) -> bool:
    """Whether the index kept for this database is of the names as they are now (the
    next look-up needs no build)."""
    stamp = names_stamp(session)
    with _LOCK:
        kept = _INDEXES.get(str(session.get_bind().url))
    return stamp is not None and kept is not None and kept[0] == stamp


def name_index(session: Session) -> NameIndex:
    """The live accounts' names and candidate index, rebuilt only when names changed."""
    url = str(session.get_bind().url)
    # The stamp is read before the names: a change committed in between gives an index
    # newer than its stamp, rebuilt once more on the next look-up, never a stale one.
    stamp = names_stamp(session)
    with _LOCK:
        kept = _INDEXES.get(url)
        building = _BUILDING.setdefault(url, threading.Lock())
    if stamp is not None and kept is not None and kept[0] == stamp:
        return kept[1]
    with building:  # one thread builds, the others wait for its index
        with _LOCK:
            kept = _INDEXES.get(url)
        if stamp is not None and kept is not None and kept[0] == stamp:
            return kept[1]
        rows = session.execute(
            sa.select(Account.id, Account.name, Account.name_key, Account.external_id).where(
                Account.archived_at.is_(None)
            )
        ).all()
        index = NameIndex.build([tuple(row) for row in rows])
        if stamp is not None:
            with _LOCK:
                _INDEXES.pop(url, None)
                while len(_INDEXES) >= _KEPT:
                    _INDEXES.pop(next(iter(_INDEXES)))
                _INDEXES[url] = (stamp, index)
    return index


def keep_warm(
    session: Callable[[], AbstractContextManager[Session]],
    stop: threading.Event,
    *,
    every: float = WARM_EVERY_SECONDS,
) -> threading.Thread:
    """The serving process's background check: build the index at start-up and again
    whenever the names change (an import, a sync), so the first typo after them is
    answered from a ready index instead of waiting a second or more for it. Between
    changes each check is the stamp's one primary-key look-up."""

    def run() -> None:
        failing = False
        while not stop.is_set():
            try:
                with session() as reading:
                    name_index(reading)
            except Exception as error:  # a look-up builds the index itself if this fails
                # Said once per outage, not every `every` seconds while the database is down.
                if not failing:
                    log.warning("could not refresh the account name index: %s", error)
                failing = True
            else:
                if failing:
                    log.info("the account name index is refreshed again")
                failing = False
            stop.wait(every)

    thread = threading.Thread(target=run, name="rebuy-name-index", daemon=True)
    thread.start()
    return thread
