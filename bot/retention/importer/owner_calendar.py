"""The optional `owner_country` / `owner_subdivision` columns of an accounts import: the
owner's public holidays, straight from the CRM export (e.g. the owner user's country).

A filled cell sets that owner's holiday country; an empty one leaves it as it is (so a
file where only some rows carry it changes nothing else). One owner with two different
countries in one file is refused, naming the line that said otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select, update
from sqlmodel import Session

from bot.retention.calendar import calendar_for
from bot.retention.errors import InvalidInput
from bot.retention.importer import writing as w
from bot.retention.importer.reading import CsvRows


class OwnerCalendars:
    """Collects each owner's (country, subdivision) while rows are checked."""

    def __init__(self, rows: CsvRows) -> None:
        self.rows = rows
        self.i_country = rows.columns.get("owner_country")
        self.i_subdivision = rows.columns.get("owner_subdivision")
        self.by_owner: dict[str, tuple[str | None, str | None, int]] = {}

    def check(self, line: int, row: list[str], owner: str | None) -> None:
        """Record the row's owner calendar, or a problem on the row."""
        if self.i_country is None:
            return
        country = row[self.i_country].strip()
        subdivision = row[self.i_subdivision].strip() if self.i_subdivision is not None else ""
        if not country:
            if subdivision:
                self.rows.bad(line, "owner_subdivision", "needs an owner_country", subdivision)
            return
        if not owner:
            self.rows.bad(line, "owner_country", "needs an owner on the same row", country)
            return
        try:
            calendar = calendar_for(country, subdivision or None)
        except InvalidInput as error:
            self.rows.bad(line, "owner_country", error.message, country)
            return
        found = (calendar.country, calendar.subdivision)
        seen = self.by_owner.setdefault(owner, (*found, line))
        if seen[:2] != found:
            said = "-".join(part for part in seen[:2] if part)
            self.rows.bad(line, "owner_country", f"{owner} is {said} on line {seen[2]}", country)

    def changes(self, session: Session) -> dict[str, tuple[str | None, str | None]]:
        """The owners whose stored calendar differs (new owners included)."""
        wanted = {email: found[:2] for email, found in self.by_owner.items()}
        if not wanted:
            return {}
        stored = {
            email: (country, subdivision)
            for email, country, subdivision in session.execute(
                select(w.REPS.c.email, w.REPS.c.country, w.REPS.c.subdivision).where(
                    w.REPS.c.email.in_(list(wanted))
                )
            )
        }
        return {email: cal for email, cal in wanted.items() if stored.get(email) != cal}

    def note(self, changes: Mapping[str, tuple[str | None, str | None]]) -> list[str]:
        if not changes:
            return []
        shown = ", ".join(
            f"{email} {'-'.join(p for p in cal if p)}" for email, cal in sorted(changes.items())[:5]
        )
        more = f" and {len(changes) - 5:,} more" if len(changes) > 5 else ""
        return [f"Public holidays from owner_country: {shown}{more}."]

    @staticmethod
    def write(
        session: Session,
        changes: Mapping[str, tuple[str | None, str | None]],
        rep_ids: Mapping[str, int],
    ) -> None:
        """Set each owner's country and subdivision (after the owners exist)."""
        for email, (country, subdivision) in sorted(changes.items()):
            if email in rep_ids:
                session.execute(
                    update(w.REPS)
                    .where(w.REPS.c.id == rep_ids[email])
                    .values(country=country, subdivision=subdivision)
                )
