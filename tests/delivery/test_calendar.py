"""Working days, the morning window and away periods: the domain, and reminder sweeps
against the Slack double that respect them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from typer.testing import CliRunner

from bot import cli
from bot.db import Database
from bot.delivery.plan import local_reminder_day
from bot.reminders import run_sweep
from bot.retention.book import working_day_streak
from bot.retention.calendar import (
    WorkCalendar,
    away_periods,
    calendar_for,
    end_away,
    set_away,
)
from bot.retention.errors import InvalidInput
from tests.doubles.slack_double import SlackDouble
from tests.support import factories
from tests.support.reminders import (
    client_for,
    due_account,
    fast_pacer,
    linked_rep,
    make_runtime,
    runs,
)

pytestmark = pytest.mark.real_clock  # the double stamps messages with the real time

NINE, NOON = time(9, 0), time(12, 0)


# --- public holidays ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "subdivision", "day", "name"),
    [
        ("US", None, "2026-11-26", "Thanksgiving"),
        ("DE", None, "2026-04-03", "Good Friday"),
        ("GB", "ENG", "2026-12-25", "Christmas"),
        ("DE", "BY", "2026-01-06", "Epiphany"),  # Bavaria only
    ],
)
def test_public_holidays_are_days_off(country, subdivision, day, name) -> None:
    calendar = calendar_for(country, subdivision)
    holiday = date.fromisoformat(day)
    assert not calendar.is_working_day(holiday)
    assert name in (calendar.holiday(holiday) or "")
    assert calendar.is_working_day(holiday - timedelta(days=7)) or holiday.weekday() == 0


def test_a_holiday_of_one_land_is_a_working_day_in_another() -> None:
    assert not calendar_for("DE", "BY").is_working_day(date(2026, 1, 6))
    assert calendar_for("DE", "BE").is_working_day(date(2026, 1, 6))  # Berlin works
    assert WorkCalendar().is_working_day(date(2026, 12, 25))  # no country: weekends only


def test_next_working_day_skips_weekends_and_holidays() -> None:
    gb = calendar_for("GB", "ENG")
    # Christmas Friday 25 Dec, weekend, Boxing Day observed Monday 28 Dec 2026.
    assert gb.next_working_day(date(2026, 12, 25)) == date(2026, 12, 29)


def test_unknown_country_or_subdivision_is_named() -> None:
    with pytest.raises(InvalidInput, match="Unknown holiday country “XX”"):
        calendar_for("XX")
    with pytest.raises(InvalidInput, match="DE has no subdivision “ZZ”"):
        calendar_for("DE", "ZZ")


# --- the morning window -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("utc", "tz", "expected"),
    [
        # Kiritimati is UTC+14: Sunday 19:30 UTC is already Monday 09:30 there.
        ("2026-06-14T19:30", "Pacific/Kiritimati", "2026-06-15"),
        ("2026-06-14T22:00", "Pacific/Kiritimati", None),  # Monday 12:00: cut-off
        ("2026-06-14T18:59", "Pacific/Kiritimati", None),  # Monday 08:59
        # Pago Pago is UTC-11: Monday 20:00 UTC is Monday 09:00 there, a day behind Kiritimati.
        ("2026-06-15T20:00", "Pacific/Pago_Pago", "2026-06-15"),
        ("2026-06-15T22:59", "Pacific/Pago_Pago", "2026-06-15"),  # 11:59
        ("2026-06-15T23:00", "Pacific/Pago_Pago", None),  # 12:00
        ("2026-06-15T10:00", "Pacific/Pago_Pago", None),  # Sunday 23:00 there
        # DST: Berlin springs forward on Sunday 29 March 2026; 11:30 CEST is 09:30 UTC.
        ("2026-03-30T09:30", "Europe/Berlin", "2026-03-30"),
        ("2026-03-30T10:00", "Europe/Berlin", None),  # 12:00 CEST
        ("2026-03-27T10:30", "Europe/Berlin", "2026-03-27"),  # Friday 11:30 CET
        # New York falls back on Sunday 1 November; Monday 11:30 EST is 16:30 UTC.
        ("2026-11-02T16:30", "America/New_York", "2026-11-02"),
        ("2026-10-26T16:30", "America/New_York", None),  # 12:30 EDT the Monday before
    ],
)
def test_window_from_reminder_time_to_cutoff(utc: str, tz: str, expected: str | None) -> None:
    now = datetime.fromisoformat(utc).replace(tzinfo=UTC)
    day = local_reminder_day(now, tz, NINE, cutoff=NOON)
    assert day == (date.fromisoformat(expected) if expected else None)


def test_no_reminder_on_the_reps_public_holiday(db: Database, double: SlackDouble) -> None:
    thanksgiving = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)  # 10:00 in New York
    with db.transaction() as session:
        us = linked_rep(session, "U1", tz="America/New_York")
        de = linked_rep(session, "U2", tz="America/New_York", country="DE")
        due_account(session, us, "US account", last_touch="2026-09-01")
        due_account(session, de, "DE account", last_touch="2026-09-01")
    runtime = make_runtime(db, double, now=thanksgiving, reminder_cutoff=NOON, holiday_country="US")

    result = run_sweep(runtime, client_for(runtime), pacer=fast_pacer())

    assert result.sent == 1
    assert double.messages("DU1") == []  # Thanksgiving for the workspace default
    assert len(double.messages("DU2")) == 2  # the rep whose own country is DE works
    assert [h.split(" ")[0] for h in result.plan.holiday] == ["u1@example.com"]


def test_the_window_holds_across_the_date_line(db: Database, double: SlackDouble) -> None:
    with db.transaction() as session:
        east = linked_rep(session, "U1", tz="Pacific/Kiritimati")
        west = linked_rep(session, "U2", tz="Pacific/Pago_Pago")
        due_account(session, east, "East")
        due_account(session, west, "West")

    def sweep(iso: str):
        now = datetime.fromisoformat(iso).replace(tzinfo=UTC)
        runtime = make_runtime(db, double, now=now, reminder_cutoff=NOON)
        return run_sweep(runtime, client_for(runtime), pacer=fast_pacer())

    sweep("2026-06-14T19:30")  # Monday 09:30 Kiritimati; Sunday 08:30 Pago Pago
    assert [(r.rep_id, r.local_date) for r in runs(db)] == [(east.id, date(2026, 6, 15))]
    down = sweep("2026-06-15T08:00")  # Kiritimati's Monday 22:00: missed, never sent at night
    assert down.sent == 0 and down.plan.missed == ["u1@example.com"]
    assert len(runs(db)) == 1
    sweep("2026-06-15T20:30")  # Monday 09:30 Pago Pago; Tuesday 10:30 Kiritimati
    assert sorted((r.rep_id, r.local_date) for r in runs(db)) == [
        (east.id, date(2026, 6, 15)),
        (east.id, date(2026, 6, 16)),
        (west.id, date(2026, 6, 15)),
    ]
    late = sweep("2026-06-17T00:30")  # Tuesday 13:30 Pago Pago; Wednesday 14:30 Kiritimati
    assert late.sent == 0 and sorted(late.plan.missed) == ["u1@example.com", "u2@example.com"]
    texts = [m["text"] for m in double.messages("DU1") + double.messages("DU2")]
    assert all("Good afternoon" not in text for text in texts)


# --- away periods ------------------------------------------------------------------------


def test_set_end_and_list_away_periods(db: Database) -> None:
    with db.transaction() as session:
        ana = factories.rep(session, email="ana@example.com")
        bo = factories.rep(session, email="bo@example.com")
        set_away(
            session=session,
            rep_id=ana.id,
            starts_on=date(2026, 8, 3),
            ends_on=date(2026, 8, 21),
            cover_rep_id=bo.id,
            now=factories.NOW,
        )
        with pytest.raises(InvalidInput, match="Already away Mon 3 – Fri 21 Aug"):
            set_away(
                session=session,
                rep_id=ana.id,
                starts_on=date(2026, 8, 20),
                ends_on=date(2026, 8, 25),
                now=factories.NOW,
            )
        with pytest.raises(InvalidInput, match=r"ends .* before it starts"):
            set_away(
                session=session,
                rep_id=bo.id,
                starts_on=date(2026, 8, 5),
                ends_on=date(2026, 8, 1),
                now=factories.NOW,
            )
        with pytest.raises(InvalidInput, match="cannot cover for themselves"):
            set_away(
                session=session,
                rep_id=bo.id,
                starts_on=date(2026, 8, 5),
                ends_on=date(2026, 8, 6),
                cover_rep_id=bo.id,
                now=factories.NOW,
            )
        ended = end_away(session=session, rep_id=ana.id, today=date(2026, 8, 10))
        assert ended is not None and ended.ends_on == date(2026, 8, 21)
        (period,) = away_periods(session=session, rep_id=ana.id, today=date(2026, 8, 1))
        assert (period.starts_on, period.ends_on, period.cover_rep_id) == (
            date(2026, 8, 3),
            date(2026, 8, 9),
            bo.id,
        )
        assert end_away(session=session, rep_id=ana.id, today=date(2026, 8, 10)) is None


def test_a_cover_whose_colleague_has_nothing_due_is_not_told_their_accounts_are_marked(
    db: Database, double: SlackDouble
) -> None:
    with db.transaction() as session:
        ana = linked_rep(session, "U1", name="Ana Lopez")
        bo = linked_rep(session, "U2", name="Bo Chen")
        set_away(
            session=session,
            rep_id=ana.id,
            starts_on=date(2026, 6, 15),
            ends_on=date(2026, 6, 17),
            now=datetime(2026, 6, 14, tzinfo=UTC),
            cover_rep_id=bo.id,
        )
        due_account(session, bo, "Bo's account")
    monday = make_runtime(db, double, now=datetime(2026, 6, 15, 8, 0, tzinfo=UTC))
    run_sweep(monday, client_for(monday), pacer=fast_pacer())
    header, only = double.messages("DU2")
    assert "Covering for" not in str(header["blocks"])
    assert only["text"].startswith("Bo's account")


def test_away_rep_gets_nothing_cover_gets_their_accounts_then_a_welcome_back(
    db: Database, double: SlackDouble
) -> None:
    with db.transaction() as session:
        ana = linked_rep(session, "U1", name="Ana Lopez")
        bo = linked_rep(session, "U2", name="Bo Chen")
        due_account(session, ana, "Ana's big account", value=90_000)
        due_account(session, bo, "Bo's account")
    result = CliRunner().invoke(
        cli.app,
        ["away", "u1@example.com", "2026-06-15", "2026-06-17", "--cover", "u2@example.com"],
        env={"DATABASE_URL": db.url, "REBUY_NOW": "2026-06-14T08:00:00+00:00"},
    )
    assert result.exit_code == 0, result.output
    assert "away Mon 15 Jun 2026 to Wed 17 Jun 2026, covered by u2@example.com" in result.output

    monday = make_runtime(db, double, now=datetime(2026, 6, 15, 8, 0, tzinfo=UTC))
    swept = run_sweep(monday, client_for(monday), pacer=fast_pacer())

    assert swept.plan.away == ["u1@example.com"]
    assert double.messages("DU1") == []
    header, first, second = double.messages("DU2")
    assert "Covering for Ana Lopez" in str(header["blocks"])
    assert first["text"].startswith("(Covering) Ana's big account")
    assert "Covered for Ana Lopez, back Thu 18 Jun" in str(first["blocks"])
    assert second["text"].startswith("Bo's account")

    thursday = make_runtime(db, double, now=datetime(2026, 6, 18, 8, 0, tzinfo=UTC))
    run_sweep(thursday, client_for(thursday), pacer=fast_pacer())
    back = double.messages("DU1")
    assert "Welcome back. While you were away (15 Jun to 17 Jun)" in back[0]["text"]
    assert len(back) == 2  # header + Ana's one due account, capped like any morning
    friday = make_runtime(db, double, now=datetime(2026, 6, 19, 8, 0, tzinfo=UTC))
    run_sweep(friday, client_for(friday), pacer=fast_pacer())
    assert "Welcome back" not in double.messages("DU1")[2]["text"]


def test_streak_skips_holidays_and_is_frozen_while_away(db: Database) -> None:
    with db.transaction() as session:
        rep = factories.rep(session, email="ana@example.com", country="DE")
        acct = factories.account(session, owner_id=rep.id)
        # Touches Tue 31 Mar, Wed 1 Apr, Thu 2 Apr; Good Friday 3 Apr; weekend; Easter
        # Monday 6 Apr (holidays); away Tue 7 to Fri 10 Apr; touches Mon 13 Apr.
        for day in ("2026-03-31", "2026-04-01", "2026-04-02", "2026-04-13"):
            factories.touch(session, acct, day, rep_id=rep.id)
        set_away(
            session=session,
            rep_id=rep.id,
            starts_on=date(2026, 4, 7),
            ends_on=date(2026, 4, 10),
            now=factories.NOW,
        )
        assert working_day_streak(session=session, rep=rep, today=date(2026, 4, 13)) == 4
        plain = factories.rep(session, email="bo@example.com")  # no country, never away
        for day in ("2026-04-02", "2026-04-03"):
            factories.touch(session, acct, day, rep_id=plain.id)
        assert working_day_streak(session=session, rep=plain, today=date(2026, 4, 3)) == 2
        assert working_day_streak(session=session, rep=plain, today=date(2026, 4, 7)) == 0


def test_streak_counts_touches_on_the_reps_own_day(db: Database) -> None:
    """A rep in Los Angeles who logs a touch at 17:30 every working day has a streak: the
    touch is that local day's, not the next UTC day's (Friday's is not a Saturday's)."""
    from zoneinfo import ZoneInfo

    from models import Touch

    la = ZoneInfo("America/Los_Angeles")
    with db.transaction() as session:
        rep = factories.rep(session, email="pat@example.com", tz="America/Los_Angeles")
        acct = factories.account(session, owner_id=rep.id)
        for day in ("2026-06-08", "2026-06-09", "2026-06-10", "2026-06-11", "2026-06-12"):
            local = datetime.combine(date.fromisoformat(day), time(17, 30), tzinfo=la)
            session.add(
                Touch(
                    account_id=acct.id,
                    kind="call",
                    touched_at=local.astimezone(UTC),
                    rep_id=rep.id,
                    source="command",
                    created_at=factories.NOW,
                )
            )
        session.flush()
        # Monday morning in Los Angeles: last week's five working days.
        assert working_day_streak(session=session, rep=rep, today=date(2026, 6, 15)) == 5
