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

# (line, account id, name, e-mail, title, e-mail key or None, name key)
_Parsed = tuple[int, int, str, str | None, str | None, str | None, str]
# (id, name, e-mail, title) of a stored contact
_Stored = tuple[Any, ...]


def plan_contacts(session: Session, rows: CsvRows, *, now: datetime, tiers: Sequence[str]) -> Plan:
    """A row with an e-mail also claims a stored contact of the same name that has no
    e-mail yet, so adding e-mails to a names-only file does not double the contacts.
    A name may come in two columns (First Name, Last Name), as CRMs export it; an
    "Associated Company IDs" cell naming several companies files the contact under the
    first.
    """
    parsed = _ContactChecks(session, rows).read()
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
    has_email = rows.columns.get("email") is not None
    has_title = rows.columns.get("title") is not None
    new, changes, unchanged = _match(parsed, existing, has_email, has_title)

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


class _ContactChecks:
    """The checks of one contacts file's rows."""

    def __init__(self, session: Session, rows: CsvRows) -> None:
        self.rows = rows
        columns = rows.columns
        self.i_account, self.i_name = columns["account_external_id"], columns["name"]
        self.i_first, self.i_last = columns.get("first_name"), columns.get("last_name")
        self.i_email, self.i_title = columns.get("email"), columns.get("title")
        self.name_limit = w.limit_of(w.CONTACTS.c.name)
        self.email_limit = w.limit_of(w.CONTACTS.c.email)
        self.title_limit = w.limit_of(w.CONTACTS.c.title)
        self.key_limit = w.limit_of(w.CONTACTS.c.contact_key)
        self.account_ids = w.account_ids(session)
        self._first: dict[tuple[int, str], tuple[int, tuple[str, ...]]] = {}

    def read(self) -> list[_Parsed]:
        rows = self.rows
        parsed: list[_Parsed] = []
        for line, row in rows:
            before = len(rows.problems)
            account_id = self.account_of(line, row)
            name = w.required(rows, line, "name", w.one_line(self.name_text(row)), self.name_limit)
            email = rows.check(line, "email", self.parse_email, row, self.i_email)
            title = rows.check(line, "title", self.parse_title, row, self.i_title)
            email_key = email.lower() if email else None
            name_key = (normalize_name(name) or name.casefold())[: self.key_limit] if name else ""
            if (
                account_id is not None
                and name
                and self.repeated(line, row, account_id, name, email)
            ):
                continue
            if len(rows.problems) == before:
                assert account_id is not None
                parsed.append((line, account_id, name, email, title, email_key, name_key))
        return parsed

    def account_of(self, line: int, row: list[str]) -> int | None:
        external_id = row[self.i_account].strip().split(";")[0].strip()
        if not external_id:
            self.rows.bad(line, "account_external_id", "is empty", "")
            return None
        account_id = self.account_ids.get(external_id)
        if account_id is None:
            self.rows.bad(
                line,
                "account_external_id",
                f"no account with external_id “{external_id}”",
                external_id,
            )
        return account_id

    def name_text(self, row: list[str]) -> str:
        if self.i_name >= 0:
            return row[self.i_name]
        parts = [row[i].strip() for i in (self.i_first, self.i_last) if i is not None]
        return " ".join(part for part in parts if part)

    def repeated(
        self, line: int, row: list[str], account_id: int, name: str, email: str | None
    ) -> bool:
        """True for an identical repeat of an earlier row (counted, then left out); the
        same person with other values is a problem on the row."""
        email_key = email.lower() if email else None
        name_key = (normalize_name(name) or name.casefold())[: self.key_limit]
        seen = self._first.setdefault((account_id, email_key or name_key), (line, tuple(row)))
        if seen[0] == line:
            return False
        if seen[1] == tuple(row):
            self.rows.duplicates += 1
            return True
        what = f"e-mail “{email}”" if email_key else f"name “{name}”"
        self.rows.bad(
            line,
            "email" if email_key else "name",
            f"same {what} as line {seen[0]}, with different values",
            email or name,
        )
        return False

    def parse_email(self, text: str) -> str | None:
        if not text:
            return None
        if len(text) > self.email_limit:
            raise Bad(w.too_long(text, self.email_limit))
        return parse_email(text)

    def parse_title(self, text: str) -> str | None:
        text = w.one_line(text)  # a quoted cell may break lines; a title shows on one
        if len(text) > self.title_limit:
            raise Bad(w.too_long(text, self.title_limit))
        return text or None


def _match(
    parsed: list[_Parsed],
    existing: dict[tuple[int, str], _Stored],
    has_email: bool,
    has_title: bool,
) -> tuple[list[tuple[int, str, str | None, str | None, str]], list[dict[str, Any]], int]:
    """(new contacts, changes by id, unchanged count) against the stored contacts."""
    new: list[tuple[int, str, str | None, str | None, str]] = []
    changes: list[dict[str, Any]] = []
    claimed: set[int] = set()
    unchanged = 0
    for _line, account_id, name, email, title, email_key, name_key in parsed:
        key = email_key or name_key
        old = _stored_match(existing, claimed, account_id, key, email_key, name_key)
        if old is None:
            new.append((account_id, name, email, title, key))
            continue
        claimed.add(old[0])
        old_id, old_name, old_email, old_title = old
        email = email if has_email else old_email
        title = title if has_title else old_title
        if (name, email, title) == (old_name, old_email, old_title):
            unchanged += 1
        else:
            changes.append(
                {"_id": old_id, "name": name, "email": email, "title": title, "contact_key": key}
            )
    return new, changes, unchanged


def _stored_match(
    existing: dict[tuple[int, str], _Stored],
    claimed: set[int],
    account_id: int,
    key: str,
    email_key: str | None,
    name_key: str,
) -> _Stored | None:
    """The stored contact a row is: by its key, else (a row with an e-mail) the same
    person imported earlier by name only; never one a row above has claimed."""
    old = existing.get((account_id, key))
    if old is not None and old[0] in claimed:
        old = None  # taken over by a row with an e-mail above; this is someone else
    if old is None and email_key:
        by_name = existing.get((account_id, name_key))
        if by_name is not None and by_name[2] is None and by_name[0] not in claimed:
            old = by_name
    return old
