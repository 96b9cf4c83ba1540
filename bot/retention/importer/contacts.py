"""Planning a contacts import: contacts match on (account, e-mail), else (account, name)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from bot.retention.importer import writing as w
from bot.retention.importer.reading import CsvRows
from bot.retention.importer.result import Plan
from bot.retention.importer.values import Bad, parse_email
from bot.retention.names import normalize_name


def plan_contacts(session: Session, rows: CsvRows, *, now: datetime, tiers: Sequence[str]) -> Plan:
    """A row with an e-mail also claims a stored contact of the same name that has no
    e-mail yet, so adding e-mails to a names-only file does not double the contacts.
    A name may come in two columns (First Name, Last Name), as CRMs export it; an
    "Associated Company IDs" cell naming several companies files the contact under the
    first.
    """
    columns = rows.columns
    i_account, i_name = columns["account_external_id"], columns["name"]
    i_first, i_last = columns.get("first_name"), columns.get("last_name")
    i_email, i_title = columns.get("email"), columns.get("title")
    name_limit, email_limit = w.limit_of(w.CONTACTS.c.name), w.limit_of(w.CONTACTS.c.email)
    title_limit, key_limit = w.limit_of(w.CONTACTS.c.title), w.limit_of(w.CONTACTS.c.contact_key)
    account_ids = w.account_ids(session)

    def parse_contact_email(text: str) -> str | None:
        if not text:
            return None
        if len(text) > email_limit:
            raise Bad(w.too_long(text, email_limit))
        return parse_email(text)

    def parse_title(text: str) -> str | None:
        if len(text) > title_limit:
            raise Bad(w.too_long(text, title_limit))
        return text or None

    first_line: dict[tuple[int, str], tuple[int, tuple[str, ...]]] = {}
    # (line, account id, name, e-mail, title, e-mail key or None, name key)
    parsed: list[tuple[int, int, str, str | None, str | None, str | None, str]] = []
    for line, row in rows:
        before = len(rows.problems)
        external_id = row[i_account].strip().split(";")[0].strip()
        if not external_id:
            rows.bad(line, "account_external_id", "is empty", "")
        account_id = account_ids.get(external_id) if external_id else None
        if external_id and account_id is None:
            rows.bad(
                line,
                "account_external_id",
                f"no account with external_id “{external_id}”",
                external_id,
            )
        if i_name >= 0:
            text = row[i_name]
        else:
            parts = [row[i].strip() for i in (i_first, i_last) if i is not None]
            text = " ".join(part for part in parts if part)
        name = w.required(rows, line, "name", w.one_line(text), name_limit)
        email = rows.check(line, "email", parse_contact_email, row, i_email)
        title = rows.check(line, "title", parse_title, row, i_title)
        email_key = email.lower() if email else None
        name_key = (normalize_name(name) or name.casefold())[:key_limit] if name else ""
        if account_id is not None and name:
            seen = first_line.setdefault((account_id, email_key or name_key), (line, tuple(row)))
            if seen[0] != line:
                if seen[1] == tuple(row):
                    rows.duplicates += 1
                    continue
                what = f"e-mail “{email}”" if email_key else f"name “{name}”"
                rows.bad(
                    line,
                    "email" if email_key else "name",
                    f"same {what} as line {seen[0]}, with different values",
                    email or name,
                )
        if len(rows.problems) == before:
            assert account_id is not None
            parsed.append((line, account_id, name, email, title, email_key, name_key))

    existing = w.existing(
        session,
        select(
            w.CONTACTS.c.account_id,
            w.CONTACTS.c.contact_key,
            w.CONTACTS.c.id,
            w.CONTACTS.c.name,
            w.CONTACTS.c.email,
            w.CONTACTS.c.title,
        ),
        w.CONTACTS,
        {entry[1] for entry in parsed},
    )
    new: list[tuple[int, str, str | None, str | None, str]] = []
    changes: list[dict[str, Any]] = []
    claimed: set[int] = set()
    unchanged = 0
    for _line, account_id, name, email, title, email_key, name_key in parsed:
        key = email_key or name_key
        old = existing.get((account_id, key))
        if old is not None and old[0] in claimed:
            old = None  # taken over by a row with an e-mail above; this is someone else
        if old is None and email_key:
            # The same person imported earlier by name only.
            by_name = existing.get((account_id, name_key))
            if by_name is not None and by_name[2] is None and by_name[0] not in claimed:
                old = by_name
        if old is None:
            new.append((account_id, name, email, title, key))
            continue
        claimed.add(old[0])
        old_id, old_name, old_email, old_title = old
        email = email if i_email is not None else old_email
        title = title if i_title is not None else old_title
        if (name, email, title) == (old_name, old_email, old_title):
            unchanged += 1
        else:
            changes.append(
                {"_id": old_id, "name": name, "email": email, "title": title, "contact_key": key}
            )

    def write() -> None:
        # Updates first: a claimed contact gives up its name key, which a new row may take.
        w.update_rows(session, w.CONTACTS, changes, rows.tick)
        stamp = w.binder(session, w.CONTACTS.c.created_at)(now)
        w.insert(
            session,
            w.CONTACTS,
            ("account_id", "name", "email", "title", "contact_key", "created_at"),
            [(*entry, stamp) for entry in sorted(new, key=itemgetter(0, 4))],
            rows.tick,
        )

    rows.to_write = len(new) + len(changes)
    return Plan(len(new), len(changes), unchanged, write)
