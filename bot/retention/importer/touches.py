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
from bot.retention.importer.result import Plan, plural
from bot.retention.importer.values import Bad, email_in
from bot.retention.touch_kinds import touch_kind

_KEY_PREFIX = "import:"
_TOUCH_COLUMNS = ("account_id", "touched_at", "kind", "note", "rep_id")


def plan_touches(session: Session, rows: CsvRows, *, now: datetime, tiers: Sequence[str]) -> Plan:
    """Touches need the account and when; the kind defaults to the export's own (a
    HubSpot calls export is calls) or "note"; the rep is an e-mail, or a name matched
    to a rep of that name."""
    c = rows.columns
    i_account, i_when = c["account_external_id"], c["touched_at"]
    i_kind, i_rep, i_note = c.get("kind"), c.get("rep_email"), c.get("note")
    i_subject, i_id, i_done = c.get("subject"), c.get("touch_id"), c.get("done")
    default_kind = (rows.preset.defaults.get("kind") if rows.preset else None) or "note"
    account_ids = w.account_ids(session)
    reps = dict(session.execute(select(w.REPS.c.email, w.REPS.c.id)).all())
    rep_names = {
        name.casefold(): rep_id
        for rep_id, name in session.execute(select(w.REPS.c.id, w.REPS.c.name))
        if name
    }
    key_limit = w.limit_of(w.TOUCHES.c.dedupe_key) - len(_KEY_PREFIX)
    latest = now.astimezone(UTC)
    left_out: Counter[str] = Counter()
    unknown_reps: Counter[str] = Counter()
    other_kinds: Counter[str] = Counter()

    def parse_rep(text: str) -> int | None:
        if not text:
            return None
        email = email_in(text)
        rep_id = reps.get(email.lower()) if email else rep_names.get(text.casefold())
        if rep_id is None:
            unknown_reps[text] += 1
        return rep_id

    first: dict[str, tuple[int, tuple[str, ...]]] = {}
    occurrences: Counter[str] = Counter()
    parsed: list[tuple[int, datetime, str, str | None, int | None, str]] = []
    for line, row in rows:
        # An empty status is an event (Salesforce events have none): it happened when it
        # is dated in the past, which the future check below sees to.
        status = row[i_done].strip().lower() if i_done is not None else ""
        if status and status not in DONE_VALUES:
            left_out[f"not done (“{row[i_done].strip()}”)"] += 1
            continue
        before = len(rows.problems)
        external_id = row[i_account].strip().split(";")[0].strip()
        account_id = account_ids.get(external_id)
        if account_id is None:
            reason = f"no account with external_id “{external_id}”" if external_id else "is empty"
            rows.bad(line, "account_external_id", reason, external_id)
        when = rows.check(line, "touched_at", _needed(rows.dates), row, i_when)
        if when is not None and when > latest:
            left_out["planned for a later date"] += 1
            continue
        kind = default_kind
        if i_kind is not None and row[i_kind].strip():
            kind = touch_kind(row[i_kind]) or "note"
            if touch_kind(row[i_kind]) is None:
                other_kinds[row[i_kind].strip()] += 1
        rep_id = parse_rep(row[i_rep].strip()) if i_rep is not None else None
        parts = [row[i].strip() for i in (i_subject, i_note) if i is not None and row[i].strip()]
        note = " — ".join(parts) or None
        touch_id = row[i_id].strip() if i_id is not None else ""
        if len(touch_id) > key_limit:
            rows.bad(line, "touch_id", w.too_long(touch_id, key_limit), touch_id)
        if len(rows.problems) != before:
            continue
        assert account_id is not None and when is not None
        if touch_id:
            key = _KEY_PREFIX + touch_id
        else:
            content = f"{external_id}\x1f{when.isoformat()}\x1f{kind}\x1f{note or ''}"
            occurrences[content] += 1
            digest = hashlib.blake2b(content.encode(), digest_size=16).hexdigest()
            key = f"{_KEY_PREFIX}~{digest}:{occurrences[content]}"
        seen = first.setdefault(key, (line, tuple(row)))
        if seen[0] != line:
            if seen[1] == tuple(row) or not touch_id:
                rows.duplicates += 1
                continue
            rows.bad(
                line,
                "touch_id",
                f"activity id “{touch_id}” is also on line {seen[0]} with different values",
                touch_id,
            )
            continue
        parsed.append((account_id, when, kind, note, rep_id, key))

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
    new: list[tuple[int, datetime, str, str | None, int | None, str]] = []
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

    plan = Plan(len(new), len(changes), unchanged, write, left_out=left_out)
    if unknown_reps:
        names = ", ".join(f"“{name}”" for name, _ in unknown_reps.most_common(5))
        plan.warnings.append(
            f"Warning: {plural(unknown_reps.total(), 'touch')} name a rep Rebuy does not know "
            f"({names}); they are imported without a rep."
        )
    if other_kinds:
        names = ", ".join(f"“{name}”" for name, _ in other_kinds.most_common(5))
        plan.warnings.append(
            f"{plural(other_kinds.total(), 'touch')} of other types ({names}) imported as notes."
        )
    rows.to_write = len(new) + len(changes)
    return plan


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
