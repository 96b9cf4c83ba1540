"""Review fixes (issue 9): back-to-back away periods across two local days, an inactive
rep's away period, three-letter holiday countries, and held reps named by `rebuy remind`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from bot import cli
from bot.db import Database
from bot.reminders import run_sweep
from bot.retention.calendar import set_away
from models import Rep
from tests.doubles.slack_double import SlackDouble
from tests.support.importing import run as run_import
from tests.support.importing import write
from tests.support.reminders import (
    FAST,
    client_for,
    due_account,
    fast_pacer,
    linked_rep,
    make_runtime,
    remind_env,
    two_reps,
)
from tests.support.slack_app import SlackApp, all_text
from tests.support.slack_signing import USER_ID

pytestmark = pytest.mark.real_clock  # the double stamps messages with the real time


# Tuesday 16 June 2026, 07:30 UTC: 09:30 in Berlin (Tuesday), 21:30 in Honolulu (Monday).
TUESDAY_MORNING = datetime(2026, 6, 16, 7, 30, tzinfo=UTC)


@pytest.mark.parametrize("later_first", [False, True], ids=["in-order", "later-first"])
def test_back_to_back_away_periods_while_reps_are_on_two_dates(
    db: Database, double: SlackDouble, later_first: bool
) -> None:
    with db.transaction() as session:
        ana = linked_rep(session, "U1", tz="Europe/Berlin")
        linked_rep(session, "U2", tz="Pacific/Honolulu")  # the sweep spans Mon and Tue
        due_account(session, ana, "Ana's account")
        spans = [(date(2026, 6, 10), date(2026, 6, 15)), (date(2026, 6, 16), date(2026, 6, 19))]
        for starts_on, ends_on in reversed(spans) if later_first else spans:
            set_away(
                session=session,
                rep_id=ana.id,
                starts_on=starts_on,
                ends_on=ends_on,
                now=TUESDAY_MORNING,
            )
    runtime = make_runtime(db, double, now=TUESDAY_MORNING, reminder_cutoff=time(12, 0))

    result = run_sweep(runtime, client_for(runtime), pacer=fast_pacer())

    assert double.messages("DU1") == []
    assert result.plan.away == ["u1@example.com"]


def test_an_inactive_reps_away_period_never_stops_the_morning(
    db: Database, double: SlackDouble
) -> None:
    with db.transaction() as session:
        ana = linked_rep(session, "U1")
        gone = linked_rep(session, "U2")
        due_account(session, ana, "Ana's account")
        set_away(
            session=session,
            rep_id=gone.id,
            starts_on=date(2026, 6, 15),
            ends_on=date(2026, 6, 19),
            now=TUESDAY_MORNING,
        )
        gone.active = False  # their Slack user was deleted while away
        session.add(gone)
    runtime = make_runtime(db, double, now=TUESDAY_MORNING)

    result = run_sweep(runtime, client_for(runtime), pacer=fast_pacer())

    assert result.sent == 1 and len(double.messages("DU1")) == 2


def test_three_letter_countries_are_stored_as_two_letter_codes(
    slack_app: SlackApp, tmp_path: Path
) -> None:
    with slack_app.db.transaction() as session:
        linked_rep(session, USER_ID, tz="America/New_York")
    _, reply = slack_app.command("holidays DEU BY")
    assert "public holidays of *DE-BY*" in all_text(reply)

    path = write(
        tmp_path,
        "accounts.csv",
        "external_id,name,owner_email,owner_country\nA1,Acme,cy@seller.example,USA\n",
    )
    run_import(slack_app.db, "accounts", path)
    with slack_app.db.session() as session:
        stored = {r.email: (r.country, r.subdivision) for r in session.exec(select(Rep))}
    assert stored[f"{USER_ID.lower()}@example.com"] == ("DE", "BY")
    assert stored["cy@seller.example"] == ("US", None)


def test_rebuy_remind_names_the_reps_it_held(
    db: Database, double: SlackDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_reps(db)
    monkeypatch.setattr("bot.delivery.reconcile.DELAYS", FAST.delays)
    double.fail_next("chat.postMessage", drop=True, after=True, times=1, channel="DU2")
    double.fail_next("conversations.history", status=500, times=None)

    result = CliRunner().invoke(cli.app, ["remind"], env=remind_env(db, double))

    assert result.exit_code == 1, result.output
    summary = result.output.strip().splitlines()[-1]
    assert "Sent today's reminders to 1 rep (3 messages)." in summary
    assert "Held the reminders of 1 rep" in summary and "u2@example.com" in summary
    assert len(double.messages("DU2")) == 1  # the one that got through, never again


def test_the_home_streak_skips_the_workspace_default_holidays(db: Database) -> None:
    from tests.doubles.slack_double import SlackDouble as Double
    from tests.support import factories
    from tests.support.slack_app import block_texts, build_runtime, serve, shut_down
    from tests.support.slack_signing import app_home_opened_event

    friday = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # 10:00 in New York
    with Double(clock=lambda: friday) as slack:
        running = serve(build_runtime(db, slack, now=friday, holiday_country="US"), slack)
        try:
            with db.transaction() as session:
                ana = linked_rep(session, USER_ID, tz="America/New_York")  # no own country
                acct = due_account(session, ana, "Acme")
                # Tue, Wed, then Thanksgiving (Thu 26 Nov, the workspace's holiday), Fri.
                for day in (24, 25, 27):
                    factories.touch(session, acct, date(2026, 11, day), rep_id=ana.id)
            assert running.event(app_home_opened_event(USER_ID)) == 200
            home = running.wait_for("views.publish", timeout=10)[-1]["view"]
            texts = block_texts(home["blocks"])
            assert any("Streak: *3* working days in a row" in text for text in texts), texts
        finally:
            shut_down(running)
