"""Planning an accounts import: accounts match on their CRM id (external_id)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
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
    columns = rows.columns
    i_id, i_name = columns["external_id"], columns["name"]
    i_owner, i_tier = columns.get("owner_email"), columns.get("tier")
    i_value, i_cadence = columns.get("annual_value"), columns.get("cadence_days")
    known_tiers = [tier.strip().lower() for tier in tiers]
    default_tier = "mid" if "mid" in known_tiers or not known_tiers else known_tiers[0]
    id_limit, name_limit = w.limit_of(w.ACCOUNTS.c.external_id), w.limit_of(w.ACCOUNTS.c.name)
    key_limit, email_limit = w.limit_of(w.ACCOUNTS.c.name_key), w.limit_of(w.REPS.c.email)
    reps = dict(session.execute(select(w.REPS.c.email, w.REPS.c.id)).all())
    rep_names = {
        name.casefold(): email
        for email, name in session.execute(select(w.REPS.c.email, w.REPS.c.name))
        if name
    }
    unknown_owners: dict[str, int] = {}
    calendars = OwnerCalendars(rows)

    def parse_tier(text: str) -> str | None:
        tier = text.lower()
        if tier and tier not in known_tiers:
            raise Bad(f"“{text}” is not a tier; use one of: {', '.join(known_tiers)}")
        return tier or None

    def parse_owner(text: str) -> str | None:
        if not text:
            return None
        if len(text) > email_limit:
            raise Bad(w.too_long(text, email_limit))
        email = email_in(text)
        if email is not None:
            return email.lower()
        if "@" in text:
            raise Bad(f"“{text}” is not an e-mail address")
        known = rep_names.get(text.casefold())
        if known is None:
            unknown_owners[text] = unknown_owners.get(text, 0) + 1
        return known

    rep_emails = {rep_id: email for email, rep_id in reps.items()}
    stored = {
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
    first: dict[str, tuple[int, tuple[str, ...]]] = {}
    new: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    unchanged = 0
    no_owner: list[str] = []
    check = rows.check
    for line, row in rows:
        before = len(rows.problems)
        external_id = w.required(rows, line, "external_id", row[i_id], id_limit)
        if external_id:
            seen = first.setdefault(external_id, (line, tuple(row)))
            if seen[0] != line:
                if seen[1] == tuple(row):
                    rows.duplicates += 1
                    continue
                rows.bad(
                    line,
                    "external_id",
                    f"“{external_id}” is also on line {seen[0]} with different values",
                    external_id,
                )
        name = w.required(rows, line, "name", w.one_line(row[i_name]), name_limit)
        owner = check(line, "owner_email", parse_owner, row, i_owner)
        tier = check(line, "tier", parse_tier, row, i_tier)
        value = check(
            line, "annual_value", lambda t: parse_annual_value(rows.money, t), row, i_value
        )
        cadence = check(line, "cadence_days", parse_cadence, row, i_cadence)
        calendars.check(line, row, owner)
        if len(rows.problems) != before:
            continue

        fields: dict[str, Any] = {"name": name, "name_key": normalize_name(name)[:key_limit]}
        if i_owner is not None:
            fields["owner_email"] = owner
        if i_value is not None:
            fields["annual_value"] = value
        if i_cadence is not None:
            fields["cadence_days"] = cadence
        old = stored.get(external_id)
        if old is None:
            fields.update(external_id=external_id, tier=tier or default_tier)
            new.append(fields)
            if not owner:
                no_owner.append(f"{name} ({external_id})")
            continue
        account_id, old_name, owner_id, old_tier, old_value, old_cadence = old
        fields["tier"] = tier or old_tier
        if not fields.get("owner_email", rep_emails.get(owner_id)):
            no_owner.append(f"{name} ({external_id})")
        if (
            name == old_name
            and fields["tier"] == old_tier
            and fields.get("owner_email", rep_emails.get(owner_id)) == rep_emails.get(owner_id)
            and fields.get("annual_value", old_value) == old_value
            and fields.get("cadence_days", old_cadence) == old_cadence
        ):
            unchanged += 1
        else:
            fields["_id"] = account_id
            changes.append(fields)

    new_reps = sorted(
        {fields["owner_email"] for fields in new + changes if fields.get("owner_email")} - set(reps)
    )
    warnings = _owner_warnings(no_owner, unknown_owners)
    calendar_changes = calendars.changes(session)

    def write() -> None:
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
        for fields in new + changes:
            if "owner_email" in fields:
                email = fields.pop("owner_email")
                fields["owner_id"] = reps[email] if email else None
            fields["updated_at"] = now
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
        w.update_rows(session, w.ACCOUNTS, changes, rows.tick)
        OwnerCalendars.write(session, calendar_changes, reps)

    plan = Plan(len(new), len(changes), unchanged, write, reps_created=len(new_reps))
    plan.warnings = [*calendars.note(calendar_changes), *warnings]
    plan.reps_changed = len(calendar_changes)
    rows.to_write = len(new) + len(changes)
    return plan


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
            'have no owner; map an e-mail column with --map owner_email="…" or set the '
            "rep's name first."
        )
    if no_owner:
        shown = "; ".join(no_owner[:NAMES_SHOWN])
        more = f"; and {len(no_owner) - NAMES_SHOWN:,} more" if len(no_owner) > NAMES_SHOWN else ""
        warnings.append(
            f"Warning: {plural(len(no_owner), 'account')} without an owner (nobody will be "
            f"reminded of {'it' if len(no_owner) == 1 else 'them'}): {shown}{more}."
        )
    return warnings
