"""Planning an accounts import: accounts match on their CRM id (external_id)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from bot.retention.importer import writing as w
from bot.retention.importer.owner_calendar import OwnerCalendars
from bot.retention.importer.reading import CsvRows
from bot.retention.importer.result import Plan, plural
from bot.retention.importer.values import Bad, email_in, parse_annual_value, parse_cadence
from bot.retention.names import normalize_name

# The summary names this many of the accounts without an owner.
NAMES_SHOWN = 10


def plan_accounts(session: Session, rows: CsvRows, *, now: datetime, tiers: Sequence[str]) -> Plan:
    """A column left out of the header leaves that field alone. An empty cell clears
    an optional field (owner, annual value, cadence); an empty tier gives a new
    account the default tier and leaves an existing account's tier as it is.

    CRM exports often name the owner ("Jane Doe") where Rebuy needs an e-mail: a name
    is matched to a rep of that name; an unknown name leaves the account without an
    owner, and the summary says so.
    """
    checks = _AccountChecks(session, rows, tiers)
    new, changes, unchanged = checks.read()
    reps = checks.reps
    new_reps = sorted(
        {fields["owner_email"] for fields in new + changes if fields.get("owner_email")} - set(reps)
    )
    warnings = _owner_warnings(checks.no_owner, checks.unknown_owners)
    calendar_changes = checks.calendars.changes(session)

    def write() -> None:
        _add_reps(session, reps, new_reps, now)
        for fields in new + changes:
            if "owner_email" in fields:
                email = fields.pop("owner_email")
                fields["owner_id"] = reps[email] if email else None
            fields["updated_at"] = now
        _insert_accounts(session, new, now, rows)
        w.update_rows(session, w.ACCOUNTS, changes, rows.tick)
        OwnerCalendars.write(session, calendar_changes, reps)

    plan = Plan(len(new), len(changes), unchanged, write, reps_created=len(new_reps))
    plan.warnings = [*checks.calendars.note(calendar_changes), *warnings]
    plan.reps_changed = len(calendar_changes)
    rows.to_write = len(new) + len(changes)
    return plan


class _AccountChecks:
    """The checks of one accounts file against the stored accounts and reps."""

    def __init__(self, session: Session, rows: CsvRows, tiers: Sequence[str]) -> None:
        self.rows = rows
        columns = rows.columns
        self.i_id, self.i_name = columns["external_id"], columns["name"]
        self.i_owner, self.i_tier = columns.get("owner_email"), columns.get("tier")
        self.i_value, self.i_cadence = columns.get("annual_value"), columns.get("cadence_days")
        self.known_tiers = [tier.strip().lower() for tier in tiers]
        self.default_tier = (
            "mid" if "mid" in self.known_tiers or not self.known_tiers else self.known_tiers[0]
        )
        self.id_limit = w.limit_of(w.ACCOUNTS.c.external_id)
        self.name_limit = w.limit_of(w.ACCOUNTS.c.name)
        self.key_limit = w.limit_of(w.ACCOUNTS.c.name_key)
        self.email_limit = w.limit_of(w.REPS.c.email)
        self.reps: dict[str, int] = dict(session.execute(select(w.REPS.c.email, w.REPS.c.id)).all())
        self.rep_emails = {rep_id: email for email, rep_id in self.reps.items()}
        self.rep_names = {
            name.casefold(): email
            for email, name in session.execute(select(w.REPS.c.email, w.REPS.c.name))
            if name
        }
        self.stored = {
            external_id: rest
            for external_id, *rest in session.execute(
                select(
                    w.ACCOUNTS.c.external_id,
                    w.ACCOUNTS.c.id,
                    w.ACCOUNTS.c.name,
                    w.ACCOUNTS.c.owner_id,
                    w.ACCOUNTS.c.tier,
                    w.ACCOUNTS.c.annual_value,
                    w.ACCOUNTS.c.cadence_days,
                )
            )
        }
        self.unknown_owners: dict[str, int] = {}
        self.no_owner: list[str] = []
        self.calendars = OwnerCalendars(rows)
        self._first: dict[str, tuple[int, tuple[str, ...]]] = {}

    def read(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
        """(new accounts' fields, changed accounts' fields with "_id", unchanged count)."""
        new: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        unchanged = 0
        for line, row in self.rows:
            checked = self.fields_of(line, row)
            if checked is None:
                continue
            external_id, tier, fields = checked
            old = self.stored.get(external_id)
            if old is None:
                fields.update(external_id=external_id, tier=tier or self.default_tier)
                new.append(fields)
                if not fields.get("owner_email"):
                    self.no_owner.append(f"{fields['name']} ({external_id})")
            elif self.changed(external_id, tier, fields, old):
                changes.append(fields)
            else:
                unchanged += 1
        return new, changes, unchanged

    def fields_of(self, line: int, row: list[str]) -> tuple[str, str | None, dict[str, Any]] | None:
        """(external id, tier, fields to store) of a good row; None for a bad row (the
        problems are recorded) or an identical repeat (counted)."""
        rows = self.rows
        before = len(rows.problems)
        external_id = w.required(rows, line, "external_id", row[self.i_id], self.id_limit)
        if external_id and self.repeated(line, row, external_id):
            return None
        name = w.required(rows, line, "name", w.one_line(row[self.i_name]), self.name_limit)
        owner = rows.check(line, "owner_email", self.parse_owner, row, self.i_owner)
        tier = rows.check(line, "tier", self.parse_tier, row, self.i_tier)
        value = rows.check(line, "annual_value", self.parse_value, row, self.i_value)
        cadence = rows.check(line, "cadence_days", parse_cadence, row, self.i_cadence)
        self.calendars.check(line, row, owner)
        if len(rows.problems) != before:
            return None
        fields: dict[str, Any] = {"name": name, "name_key": normalize_name(name)[: self.key_limit]}
        optional = (
            ("owner_email", self.i_owner, owner),
            ("annual_value", self.i_value, value),
            ("cadence_days", self.i_cadence, cadence),
        )
        fields.update((field, found) for field, index, found in optional if index is not None)
        return external_id, tier, fields

    def repeated(self, line: int, row: list[str], external_id: str) -> bool:
        """True for an identical repeat of an earlier line (counted, then left out); a
        repeat with other values is a problem on the row."""
        seen = self._first.setdefault(external_id, (line, tuple(row)))
        if seen[0] == line:
            return False
        if seen[1] == tuple(row):
            self.rows.duplicates += 1
            return True
        self.rows.bad(
            line,
            "external_id",
            f"“{external_id}” is also on line {seen[0]} with different values",
            external_id,
        )
        return False

    def changed(
        self, external_id: str, tier: str | None, fields: dict[str, Any], old: Sequence[Any]
    ) -> bool:
        """Whether a stored account changes (then `fields` gets its "_id" and tier)."""
        account_id, old_name, owner_id, old_tier, old_value, old_cadence = old
        fields["tier"] = tier or old_tier
        old_owner = self.rep_emails.get(owner_id)
        if not fields.get("owner_email", old_owner):
            self.no_owner.append(f"{fields['name']} ({external_id})")
        if (
            fields["name"] == old_name
            and fields["tier"] == old_tier
            and fields.get("owner_email", old_owner) == old_owner
            and fields.get("annual_value", old_value) == old_value
            and fields.get("cadence_days", old_cadence) == old_cadence
        ):
            return False
        fields["_id"] = account_id
        return True

    def parse_tier(self, text: str) -> str | None:
        tier = text.lower()
        if tier and tier not in self.known_tiers:
            raise Bad(f"“{text}” is not a tier; use one of: {', '.join(self.known_tiers)}")
        return tier or None

    def parse_value(self, text: str) -> Decimal | None:
        return parse_annual_value(self.rows.money, text)

    def parse_owner(self, text: str) -> str | None:
        if not text:
            return None
        if len(text) > self.email_limit:
            raise Bad(w.too_long(text, self.email_limit))
        email = email_in(text)
        if email is not None:
            return email.lower()
        if "@" in text:
            raise Bad(f"“{text}” is not an e-mail address")
        known = self.rep_names.get(text.casefold())
        if known is None:
            self.unknown_owners[text] = self.unknown_owners.get(text, 0) + 1
        return known


def _add_reps(session: Session, reps: dict[str, int], new_reps: list[str], now: datetime) -> None:
    """Create the owners seen for the first time; `reps` learns their ids."""
    bind_time = w.binder(session, w.REPS.c.created_at)
    bind_active = w.binder(session, w.REPS.c.active)
    w.insert(
        session,
        w.REPS,
        ("email", "tz", "active", "created_at"),
        [(email, "UTC", bind_active(True), bind_time(now)) for email in new_reps],
    )
    if new_reps:
        reps.update(session.execute(select(w.REPS.c.email, w.REPS.c.id)).all())


def _insert_accounts(
    session: Session, new: list[dict[str, Any]], now: datetime, rows: CsvRows
) -> None:
    bind_value = w.binder(session, w.ACCOUNTS.c.annual_value)
    stamp = w.binder(session, w.ACCOUNTS.c.created_at)(now)
    w.insert(
        session,
        w.ACCOUNTS,
        (
            "external_id",
            "name",
            "name_key",
            "owner_id",
            "tier",
            "annual_value",
            "cadence_days",
            "created_at",
            "updated_at",
        ),
        [
            (
                f["external_id"],
                f["name"],
                f["name_key"],
                f.get("owner_id"),
                f["tier"],
                bind_value(f.get("annual_value")),
                f.get("cadence_days"),
                stamp,
                stamp,
            )
            for f in sorted(new, key=itemgetter("external_id"))
        ],
        rows.tick,
    )


def _owner_warnings(no_owner: list[str], unknown: dict[str, int]) -> list[str]:
    warnings = []
    if unknown:
        names = ", ".join(
            f"“{name}”" + (f" ×{count}" if count > 1 else "")
            for name, count in sorted(unknown.items(), key=lambda item: -item[1])[:NAMES_SHOWN]
        )
        warnings.append(
            f"Warning: the owner column holds names, not e-mails, and no rep has "
            f"{'this name' if len(unknown) == 1 else 'these names'}: {names}. Those accounts "
            'have no owner; map an e-mail column with --map owner_email="…", or run '
            "`rebuy reps sync` (reps get their Slack names) and import again."
        )
    if no_owner:
        shown = "; ".join(no_owner[:NAMES_SHOWN])
        more = f"; and {len(no_owner) - NAMES_SHOWN:,} more" if len(no_owner) > NAMES_SHOWN else ""
        warnings.append(
            f"Warning: {plural(len(no_owner), 'account')} without an owner (nobody will be "
            f"reminded of {'it' if len(no_owner) == 1 else 'them'}): {shown}{more}."
        )
    return warnings
