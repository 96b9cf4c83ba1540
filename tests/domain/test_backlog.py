"""The first mornings after an import: no touch history means no "overdue", and the
never-touched backlog is spread over the first cadence, most value at risk first."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.db import Database
from bot.retention.book import book_entries
from bot.retention.calendar import Calendars
from bot.retention.due import due_by_rep
from bot.retention.names import normalize_name
from bot.settings import DEFAULT_TIER_CADENCE, Settings
from models import Account, Order, Rep
from tests.support import factories as f
from tests.support.cli import run

START = f.NOW  # Monday 15 June 2026, 14:00 UTC: the import happens today
CADENCE = DEFAULT_TIER_CADENCE["small"]  # 60 days
DORMANT_VALUABLE = 12
BACKLOG = 500


def _import_backlog(db: Database) -> tuple[int, list[int]]:
    """One rep, 500 small-tier accounts with no touch, all created today. The first 12
    are dormant and were worth $40k+ a year; the rest buy a little every month."""
    with db.transaction() as session:
        owner = f.rep(session, email="ana@example.com", slack_user_id="UANA")
        rows = []
        for n in range(BACKLOG):
            name = f"Customer {n:03d}"
            rows.append(
                Account(
                    external_id=f"C{n:03d}",
                    name=name,
                    name_key=normalize_name(name),
                    owner_id=owner.id,
                    tier="small",
                    created_at=START,
                    updated_at=START,
                )
            )
        session.add_all(rows)
        session.flush()
        for n, account in enumerate(rows):
            if n < DORMANT_VALUABLE:
                # Four big orders, the last 14 months ago; bigger for lower n.
                for months in (14, 17, 20, 23):
                    day = START.date() - timedelta(days=int(months * 30.4))
                    session.add(
                        Order(
                            account_id=account.id,
                            ordered_at=f.at(day),
                            amount=Decimal(12000 - 200 * n),
                            order_key=f"O{n}-{months}",
                        )
                    )
            else:
                day = START.date() - timedelta(days=10 + n % 20)
                session.add(
                    Order(
                        account_id=account.id,
                        ordered_at=f.at(day),
                        amount=Decimal(100 + n),
                        order_key=f"O{n}",
                    )
                )
        return owner.id, [account.id for account in rows]


@pytest.mark.parametrize("cap", [Settings().reminder_max_per_day, 12])
def test_a_500_account_backlog_is_spread_over_one_cadence_most_valuable_first(
    db: Database, cap: int
) -> None:
    owner_id, ids = _import_backlog(db)
    dormant_valuable = set(ids[:DORMANT_VALUABLE])
    shown: list[int] = []
    first_due: dict[int, date] = {}
    mornings = 0
    day = START.date()
    end = day + timedelta(days=CADENCE)
    while day < end:
        if day.weekday() < 5:
            mornings += 1
            counts: dict[int, int] = {}
            with db.transaction() as session:
                # What the Home tab and lists call due this morning.
                for entry in book_entries(
                    session=session, owner_id=owner_id, as_of=day, tier_cadence=DEFAULT_TIER_CADENCE
                ):
                    if entry.due and entry.facts.id not in first_due:
                        first_due[entry.facts.id] = day
                    assert entry.schedule.days_overdue == 0
                due = due_by_rep(
                    session=session,
                    as_of=day,
                    now=f.at(day, 9),
                    tier_cadence=DEFAULT_TIER_CADENCE,
                    limit=cap,
                    with_tactics=False,
                    due_counts=counts,
                ).get(owner_id, [])
                assert len(due) <= max(cap, 12)  # the plan's quota: 500 over 44 mornings
                for item in due:
                    # No history: never "overdue", always "no touch logged yet".
                    assert item.schedule.days_overdue == 0 and not item.schedule.touched
                    assert "touch_overdue" not in {s.name for s in item.signals}
                    assert "no touch logged yet" in item.why[0]
                    shown.append(item.account_id)
                    # The rep works the morning's list.
                    f.touch(session, session.get(Account, item.account_id), day, rep_id=owner_id)
            if mornings == 1:
                # The first morning: short, and the dormant valuable accounts lead it.
                assert counts[owner_id] <= 12
                # All of the day's planned first touches, even past the rep's cap.
                assert set(shown) <= dormant_valuable and len(shown) == max(cap, 12)
                assert shown == sorted(shown)  # bigger past spend (lower n) first
        day += timedelta(days=1)

    assert dormant_valuable <= set(shown[:DORMANT_VALUABLE])
    # Every account came due within the first cadence (44 working days from a Monday).
    assert mornings == 44
    assert set(first_due) == set(ids)
    assert len(shown) == len(set(shown))  # nobody shown twice: a touch takes it off
    assert set(shown) == set(ids)  # every account reached in a morning list, whatever the cap


def test_due_dates_move_to_the_reps_next_working_day(db: Database) -> None:
    with db.transaction() as session:
        ana = f.rep(session, email="ana@example.com", country="DE", subdivision="BY")
        bob = f.rep(session, email="bob@example.com")
        # Touched Friday 27 Nov 2026 + 30 days = Sunday 27 Dec: Monday 28 Dec for both.
        # Touched 26 Nov + 30 = Saturday 26 Dec; Monday 28 Dec.
        # Touched 25 Nov + 30 = Friday 25 Dec: Christmas in Bavaria, a working day in the
        # workspace without HOLIDAY_COUNTRY (Bob has no country).
        for rep in (ana, bob):
            for touched in ("2026-11-25", "2026-11-27"):
                acct = f.account(session, f"{rep.email} {touched}", owner_id=rep.id)
                f.touch(session, acct, touched)
    with db.session() as session:
        entries = book_entries(
            session=session,
            owner_id=None,
            as_of=date(2027, 1, 8),
            tier_cadence=DEFAULT_TIER_CADENCE,
            calendars=Calendars(),
        )
    due = {e.facts.name: (e.schedule.next_touch_due, e.schedule.days_overdue) for e in entries}
    # Ana (Bavaria): 28 Dec; overdue counts working days to Fri 8 Jan, without 1 Jan and
    # 6 Jan (Epiphany): 29, 30, 31 Dec, 4, 5, 7, 8 Jan = 7.
    assert due["ana@example.com 2026-11-25"] == (date(2026, 12, 28), 7)
    assert due["ana@example.com 2026-11-27"] == (date(2026, 12, 28), 7)
    # Bob (weekends only): Christmas Day is a working day; to 8 Jan: 10 weekdays.
    assert due["bob@example.com 2026-11-25"] == (date(2026, 12, 25), 10)
    assert due["bob@example.com 2026-11-27"] == (date(2026, 12, 28), 9)

    # With the workspace default (HOLIDAY_COUNTRY=GB), Bob gets Christmas, Boxing Day
    # (observed Monday 28 Dec) and New Year's Day off.
    with db.session() as session:
        entries = book_entries(
            session=session,
            owner_id=None,
            as_of=date(2027, 1, 8),
            tier_cadence=DEFAULT_TIER_CADENCE,
            calendars=Calendars("GB"),
        )
    due = {e.facts.name: (e.schedule.next_touch_due, e.schedule.days_overdue) for e in entries}
    assert due["bob@example.com 2026-11-25"] == (date(2026, 12, 29), 7)
    assert due["ana@example.com 2026-11-25"] == (date(2026, 12, 28), 7)  # her own country


@pytest.fixture
def cli_workspace(db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("REBUY_NOW", "2026-06-15T14:00:00+00:00")
    with db.transaction() as session:
        ana = f.rep(session, email="ana@example.com", slack_user_id="UANA")
        for external_id, last_order in (("A1", "2025-06-20"), ("B2", "2026-05-01")):
            acct = f.account(
                session, f"Customer {external_id}", external_id=external_id, owner_id=ana.id
            )
            f.order(session, acct, last_order, 5000)
    return db


def _card(capsys, name: str) -> dict:
    code, out, err = run(capsys, "account", name, "--json")
    assert code == 0, err
    return json.loads(out)


def test_overdue_only_where_the_imported_touch_history_says_so(
    cli_workspace, capsys, tmp_path: Path
) -> None:
    # Before any touch: A1's last order was 360 days ago, yet nothing is "overdue".
    for name in ("Customer A1", "Customer B2"):
        card = _card(capsys, name)
        assert card["days_overdue"] == 0 and "touch_overdue" not in card["signals"]
        assert card["last_touch_at"] is None

    path = tmp_path / "touches.csv"
    path.write_text(
        "account_external_id,touched_at,kind,rep_email,note,external_id\n"
        "A1,2026-02-02,call,ana@example.com,Quarterly check-in,T-1\n"
        "B2,2026-06-01,email,ana@example.com,Sent the catalogue,T-2\n",
        encoding="utf-8",
    )
    code, _, err = run(capsys, "import", "touches", str(path))
    assert code == 0, err

    a1 = _card(capsys, "Customer A1")  # mid: 2 Feb + 30 = Wed 4 Mar, long past
    assert a1["next_touch_due"] == "2026-03-04"
    assert "touch_overdue" in a1["signals"]
    # Working days after Wed 4 Mar up to Mon 15 Jun: 14 weeks (70) + Thu, Fri, Mon.
    assert a1["days_overdue"] == 73
    assert "73 working days" in a1["signal_reasons"]["touch_overdue"]
    b2 = _card(capsys, "Customer B2")  # touched two weeks ago: due 1 Jul
    assert b2["next_touch_due"] == "2026-07-01"
    assert b2["days_overdue"] == 0 and "touch_overdue" not in b2["signals"]


def test_reps_set_gives_a_rep_the_holidays_of_their_country(cli_workspace, capsys) -> None:
    with cli_workspace.transaction() as session:
        ana = session.exec(sa.select(Rep).where(Rep.email == "ana@example.com")).scalar_one()
        # Touched Thu 30 Apr + 35 days = Thu 4 Jun 2026: Corpus Christi in Bavaria.
        acct = f.account(session, "Corpus Co", external_id="X1", cadence_days=35, owner_id=ana.id)
        f.touch(session, acct, "2026-04-30", rep_id=ana.id)
    card = _card(capsys, "Corpus Co")
    assert (card["next_touch_due"], card["days_overdue"]) == ("2026-06-04", 7)

    code, _, err = run(capsys, "reps", "set", "ana@example.com", "--country", "XX")
    assert code != 0 and "Unknown holiday country “XX”" in err
    code, _, err = run(
        capsys, "reps", "set", "ana@example.com", "--country", "DE", "--subdivision", "ZZ"
    )
    assert code != 0 and "DE has no subdivision “ZZ”" in err
    code, _, err = run(capsys, "reps", "set", "nobody@example.com", "--country", "DE")
    assert code != 0 and "No rep with e-mail nobody@example.com" in err

    code, out, err = run(
        capsys, "reps", "set", "Ana@Example.com", "--country", "de", "--subdivision", "by"
    )
    assert code == 0, err
    assert "ana@example.com: public holidays of DE-BY." in out
    card = _card(capsys, "Corpus Co")
    # Due the next working day in Bavaria; overdue by Fri 5 ... Mon 15 Jun minus the 5th.
    assert (card["next_touch_due"], card["days_overdue"]) == ("2026-06-05", 6)

    code, out, err = run(capsys, "reps", "set", "ana@example.com", "--country", "")
    assert code == 0 and "the workspace default" in out
    assert _card(capsys, "Corpus Co")["next_touch_due"] == "2026-06-04"
