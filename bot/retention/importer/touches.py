"""Planning a touches import: the activity history (calls, e-mails, meetings) from a CRM.

Each touch is keyed for idempotent re-imports: by the CRM's activity id when the file
has one, else by its content (account, time, kind, note) and how often that content
has appeared so far in the file. Activities that did not happen yet (planned, not
done, or dated in the future) are left out and counted.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from bot.retention.importer import writing as w
from bot.retention.importer.presets import DONE_VALUES
from bot.retention.importer.reading import CsvRows
from bot.retention.importer.result import Plan
from bot.retention.importer.values import Bad, email_in
from bot.retention.touch_kinds import touch_kind
from bot.retention.wording import plural

_KEY_PREFIX = "import:"
_TOUCH_COLUMNS = ("account_id", "touched_at", "kind", "note", "rep_id")


# (account id, when, kind, note, rep id, dedupe key)
_Parsed = tuple[int, datetime, str, str | None, int | None, str]


def plan_touches(session: Session, rows: CsvRows, *, now: datetime, tiers: Sequence[str]) -> Plan:
    """Touches need the account and when; the kind defaults to the export's own (a
    HubSpot calls export is calls) or "note"; the rep is an e-mail, or a name matched
    to a rep of that name."""
    checks = _TouchChecks(session, rows, now)
    parsed = checks.read()
    new, changes, unchanged = _match(session, parsed)

    def write() -> None:
        bind_when = w.binder(session, w.TOUCHES.c.touched_at)
        stamp = bind_when(now)
        new.sort(key=itemgetter(0, 1))
        w.insert(
            session,
            w.TOUCHES,
            (
                "account_id",
                "touched_at",
                "kind",
                "note",
                "rep_id",
                "dedupe_key",
                "source",
                "created_at",
            ),
            [(a, bind_when(t), k, n, r, key, "import", stamp) for a, t, k, n, r, key in new],
            rows.tick,
        )
        w.update_rows(session, w.TOUCHES, changes, rows.tick)

    plan = Plan(len(new), len(changes), unchanged, write, left_out=checks.left_out)
    plan.warnings = checks.warnings()
    rows.to_write = len(new) + len(changes)
    return plan


class _TouchChecks:
    """The checks of one touches file's rows."""

    def __init__(self, session: Session, rows: CsvRows, now: datetime) -> None:
        self.rows = rows
        c = rows.columns
        self.i_account, self.i_when = c["account_external_id"], c["touched_at"]
        self.i_kind, self.i_rep, self.i_note = c.get("kind"), c.get("rep_email"), c.get("note")
        self.i_subject, self.i_id, self.i_done = c.get("subject"), c.get("touch_id"), c.get("done")
        self.default_kind = (rows.preset.defaults.get("kind") if rows.preset else None) or "note"
        self.account_ids = w.account_ids(session)
        self.reps = dict(session.execute(select(w.REPS.c.email, w.REPS.c.id)).all())
        self.rep_names = {
            name.casefold(): rep_id
            for rep_id, name in session.execute(select(w.REPS.c.id, w.REPS.c.name))
            if name
        }
        self.key_limit = w.limit_of(w.TOUCHES.c.dedupe_key) - len(_KEY_PREFIX)
        self.latest = now.astimezone(UTC)
        self.parse_when = _needed(rows.dates)
        self.left_out: Counter[str] = Counter()
        self.unknown_reps: Counter[str] = Counter()
        self.other_kinds: Counter[str] = Counter()
        self._first: dict[str, tuple[int, tuple[str, ...]]] = {}
        self._occurrences: Counter[str] = Counter()

    def read(self) -> list[_Parsed]:
        parsed: list[_Parsed] = []
        problems = self.rows.problems
        for line, row in self.rows:
            if not self.done(row):
                continue
            before = len(problems)
            external_id, account_id = self.account_of(line, row)
            when = self.rows.check(line, "touched_at", self.parse_when, row, self.i_when)
            if when is not None and when > self.latest:
                self.left_out["planned for a later date"] += 1
                continue
            kind, rep_id, note = self.kind_of(row), self.rep_of(row), self.note_of(row)
            touch_id = self.touch_id_of(line, row)
            if len(problems) != before:
                continue
            assert account_id is not None and when is not None
            key = self.key_of(touch_id, external_id, when, kind, note)
            if not self.repeated(line, row, key, touch_id):
                parsed.append((account_id, when, kind, note, rep_id, key))
        return parsed

    def done(self, row: list[str]) -> bool:
        """False for an activity not done (counted as left out). An empty status is an
        event (Salesforce events have none): it happened when it is dated in the past,
        which the future check sees to."""
        status = row[self.i_done].strip().lower() if self.i_done is not None else ""
        if status and status not in DONE_VALUES:
            assert self.i_done is not None
            self.left_out[f"not done (“{row[self.i_done].strip()}”)"] += 1
            return False
        return True

    def account_of(self, line: int, row: list[str]) -> tuple[str, int | None]:
        external_id = row[self.i_account].strip().split(";")[0].strip()
        account_id = self.account_ids.get(external_id)
        if account_id is None:
            reason = f"no account with external_id “{external_id}”" if external_id else "is empty"
            self.rows.bad(line, "account_external_id", reason, external_id)
        return external_id, account_id

    def kind_of(self, row: list[str]) -> str:
        if self.i_kind is None or not row[self.i_kind].strip():
            return self.default_kind
        kind = touch_kind(row[self.i_kind])
        if kind is None:
            self.other_kinds[row[self.i_kind].strip()] += 1
        return kind or "note"

    def rep_of(self, row: list[str]) -> int | None:
        text = row[self.i_rep].strip() if self.i_rep is not None else ""
        if not text:
            return None
        email = email_in(text)
        rep_id = self.reps.get(email.lower()) if email else self.rep_names.get(text.casefold())
        if rep_id is None:
            self.unknown_reps[text] += 1
        return rep_id

    def note_of(self, row: list[str]) -> str | None:
        cells = (self.i_subject, self.i_note)
        parts = [row[i].strip() for i in cells if i is not None and row[i].strip()]
        return " — ".join(parts) or None

    def touch_id_of(self, line: int, row: list[str]) -> str:
        touch_id = row[self.i_id].strip() if self.i_id is not None else ""
        if len(touch_id) > self.key_limit:
            self.rows.bad(line, "touch_id", w.too_long(touch_id, self.key_limit), touch_id)
        return touch_id

    def key_of(
        self, touch_id: str, external_id: str, when: datetime, kind: str, note: str | None
    ) -> str:
        """The CRM's activity id, else the content and how often it appeared so far."""
        if touch_id:
            return _KEY_PREFIX + touch_id
        content = f"{external_id}\x1f{when.isoformat()}\x1f{kind}\x1f{note or ''}"
        self._occurrences[content] += 1
        digest = hashlib.blake2b(content.encode(), digest_size=16).hexdigest()
        return f"{_KEY_PREFIX}~{digest}:{self._occurrences[content]}"

    def repeated(self, line: int, row: list[str], key: str, touch_id: str) -> bool:
        """True for a repeat of an earlier row: identical (or keyed by content) it is
        counted as a duplicate; the same activity id with other values is a problem."""
        seen = self._first.setdefault(key, (line, tuple(row)))
        if seen[0] == line:
            return False
        if seen[1] == tuple(row) or not touch_id:
            self.rows.duplicates += 1
            return True
        self.rows.bad(
            line,
            "touch_id",
            f"activity id “{touch_id}” is also on line {seen[0]} with different values",
            touch_id,
        )
        return True

    def warnings(self) -> list[str]:
        warnings = []
        if self.unknown_reps:
            names = ", ".join(f"“{name}”" for name, _ in self.unknown_reps.most_common(5))
            one = self.unknown_reps.total() == 1
            warnings.append(
                f"Warning: {plural(self.unknown_reps.total(), 'touch', 'touches')} "
                f"{'names' if one else 'name'} a rep Rebuy does not know ({names}); "
                f"{'it is' if one else 'they are'} imported without a rep."
            )
        if self.other_kinds:
            names = ", ".join(f"“{name}”" for name, _ in self.other_kinds.most_common(5))
            one = self.other_kinds.total() == 1
            warnings.append(
                f"{plural(self.other_kinds.total(), 'touch', 'touches')} of "
                f"{'another type' if one else 'other types'} ({names}) imported as "
                f"{'a note' if one else 'notes'}."
            )
        return warnings


def _match(
    session: Session, parsed: list[_Parsed]
) -> tuple[list[_Parsed], list[dict[str, Any]], int]:
    """(new touches, changes by id, unchanged count) against the imported touches."""
    stored = {
        key: rest
        for key, *rest in session.execute(
            select(
                w.TOUCHES.c.dedupe_key,
                w.TOUCHES.c.id,
                w.TOUCHES.c.account_id,
                w.TOUCHES.c.touched_at,
                w.TOUCHES.c.kind,
                w.TOUCHES.c.note,
                w.TOUCHES.c.rep_id,
            ).where(w.TOUCHES.c.dedupe_key.like(_KEY_PREFIX + "%"))
        )
    }
    new: list[_Parsed] = []
    changes: list[dict[str, Any]] = []
    unchanged = 0
    for entry in parsed:
        old = stored.get(entry[5])
        if old is None:
            new.append(entry)
        elif (old[1], _utc(old[2]), old[3], old[4], old[5]) == entry[:5]:
            unchanged += 1
        else:
            changes.append(
                dict(
                    zip(("account_id", "touched_at", "kind", "note", "rep_id"), entry, strict=False)
                )
                | {"_id": old[0]}
            )
    return new, changes, unchanged


def _needed(parse):
    def parse_when(text: str) -> datetime:
        if not text:
            raise Bad("is empty")
        return parse(text)

    return parse_when


def _utc(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
