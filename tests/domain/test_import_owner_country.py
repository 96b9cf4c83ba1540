"""`owner_country` / `owner_subdivision` on an accounts import: reps' public holidays
straight from the CRM export, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from bot.db import Database
from models import Rep
from tests.support import factories as f
from tests.support.importing import bad_rows, run, where, write

HEADER = "external_id,name,owner_email,owner_country,owner_subdivision\n"


def calendars(db: Database) -> dict[str, tuple[str | None, str | None]]:
    with db.session() as session:
        return {rep.email: (rep.country, rep.subdivision) for rep in session.exec(select(Rep))}


def test_owner_country_sets_each_owners_holidays(db: Database, tmp_path: Path) -> None:
    with db.transaction() as session:
        f.rep(session, email="ben@seller.example", country="GB")
    path = write(
        tmp_path,
        "accounts.csv",
        HEADER
        + "A1,Acme,ana@seller.example,de,by\n"
        + "A2,Beta,ana@seller.example,DE,BY\n"
        + "A3,Gamma,ben@seller.example,,\n"  # empty: Ben keeps GB
        + "A4,Delta,cy@seller.example,US,\n",
    )
    result = run(db, "accounts", path)
    assert calendars(db) == {
        "ana@seller.example": ("DE", "BY"),
        "ben@seller.example": ("GB", None),
        "cy@seller.example": ("US", None),
    }
    assert (
        "Public holidays from owner_country: ana@seller.example DE-BY, cy@seller.example US."
        in (result.details())
    )

    # Only the country changes: the accounts are unchanged, the owner's calendar is not.
    again = write(tmp_path, "again.csv", HEADER + "A1,Acme,ana@seller.example,AT,\n")
    result = run(db, "accounts", again)
    assert (result.created, result.updated) == (0, 0)
    assert calendars(db)["ana@seller.example"] == ("AT", None)


def test_bad_owner_countries_are_listed_by_line(db: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "accounts.csv",
        HEADER
        + "A1,Acme,ana@seller.example,XX,\n"
        + "A2,Beta,ana@seller.example,DE,ZZ\n"
        + "A3,Gamma,,DE,\n"
        + "A4,Delta,bo@seller.example,DE,BY\n"
        + "A5,Eps,bo@seller.example,DE,BE\n"
        + "A6,Zeta,bo@seller.example,,BY\n",
    )
    problems = bad_rows(db, "accounts", path)
    assert where(problems) == [
        (2, "owner_country"),
        (3, "owner_country"),
        (4, "owner_country"),
        (6, "owner_country"),
        (7, "owner_subdivision"),
    ]
    reasons = [problem.reason for problem in problems]
    assert "Unknown holiday country “XX”" in reasons[0]
    assert reasons[3] == "bo@seller.example is DE-BY on line 5"
    assert calendars(db) == {}  # nothing written
