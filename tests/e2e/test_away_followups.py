"""Away days, second review (issue 9): a cover rep's day off is never silent, "back" is
the rep's next working day, a second press of the pause offer, 29 Feb in a common year,
mentions with spaces in their label, and the one date style."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from bot.db import Database
from bot.reminders import run_sweep
from bot.retention.calendar import set_away
from bot.retention.dates import span_label
from models import AwayPeriod
from tests.doubles.slack_double import SlackDouble
from tests.support.reminders import (
    client_for,
    due_account,
    fast_pacer,
    linked_rep,
    make_runtime,
)
from tests.support.slack_app import SlackApp, all_text, buttons
from tests.support.slack_signing import USER_ID, app_home_opened_event

# The slack_app tests run at Monday 15 June 2026 14:00 UTC: 10:00 in New York.
NEW_YORK = "America/New_York"


@pytest.fixture
def raw_double():
    with SlackDouble() as slack:
        yield slack


def _periods(slack_app: SlackApp) -> list[tuple[date, date, int | None]]:
    with slack_app.db.session() as session:
        rows = session.exec(select(AwayPeriod).order_by(AwayPeriod.starts_on))
        return [(row.starts_on, row.ends_on, row.cover_rep_id) for row in rows]


def _ana_and_ben(slack_app: SlackApp) -> tuple[int, int]:
    with slack_app.db.transaction() as session:
        ana = linked_rep(session, USER_ID, tz=NEW_YORK, name="Ana Lopez")
        ben = linked_rep(session, "UBEN", tz=NEW_YORK, name="Ben Ode")
        due_account(session, ana, "Acme")
        return ana.id, ben.id


def test_a_cover_on_a_public_holiday_is_named_in_the_sweep_and_nothing_is_lost(
    db: Database, raw_double: SlackDouble
) -> None:
    with db.transaction() as session:
        ana = linked_rep(session, "U1", name="Ana Lopez")  # Berlin, weekends only
        bo = linked_rep(session, "U2", name="Bo Chen", country="US")
        due_account(session, ana, "Ana's account")
        set_away(
            session=session,
            rep_id=ana.id,
            starts_on=date(2026, 6, 18),
            ends_on=date(2026, 6, 19),
            cover_rep_id=bo.id,
            now=datetime(2026, 6, 1, tzinfo=UTC),
        )
    # Friday 19 June 2026 is Juneteenth for Bo, a working day Ana is away on.
    friday = make_runtime(db, raw_double, now=datetime(2026, 6, 19, 8, 0, tzinfo=UTC))
    swept = run_sweep(friday, client_for(friday), pacer=fast_pacer())

    assert raw_double.messages("DU1") == [] and raw_double.messages("DU2") == []
    assert swept.plan.uncovered == [
        "u1@example.com (cover u2@example.com has a public holiday: "
        "Juneteenth National Independence Day)"
    ]
    assert "Away without an active cover (their accounts wait): u1@example.com (cover" in str(swept)
    # Ana's account waited for her: her first morning back opens with it.
    monday = make_runtime(db, raw_double, now=datetime(2026, 6, 22, 8, 0, tzinfo=UTC))
    run_sweep(monday, client_for(monday), pacer=fast_pacer())
    header, account = raw_double.messages("DU1")
    assert "Welcome back" in header["text"] and "Ana's account" in account["text"]


def test_a_covers_weekend_on_the_owners_day_off_is_not_reported(
    db: Database, raw_double: SlackDouble
) -> None:
    with db.transaction() as session:
        ana = linked_rep(session, "U1")
        bo = linked_rep(session, "U2")
        set_away(
            session=session,
            rep_id=ana.id,
            starts_on=date(2026, 6, 15),
            ends_on=date(2026, 6, 26),
            cover_rep_id=bo.id,
            now=datetime(2026, 6, 1, tzinfo=UTC),
        )
    saturday = make_runtime(db, raw_double, now=datetime(2026, 6, 20, 8, 0, tzinfo=UTC))
    assert run_sweep(saturday, client_for(saturday), pacer=fast_pacer()).plan.uncovered == []


def test_back_is_the_next_working_day_in_reply_home_and_covered_note(
    slack_app: SlackApp,
) -> None:
    _, ben_id = _ana_and_ben(slack_app)
    # A mention with a space in its label, as Slack escapes it in slash-command text.
    _, reply = slack_app.command("away until friday cover <@UBEN|Ben Ode>")
    line = "Away until Fri 19 Jun* (back Mon 22 Jun): no reminders until then."
    assert line in all_text(reply)
    assert "<@UBEN> gets your due accounts meanwhile" in all_text(reply)
    assert _periods(slack_app) == [(date(2026, 6, 15), date(2026, 6, 19), ben_id)]

    assert slack_app.event(app_home_opened_event(USER_ID)) == 200
    assert line in all_text(slack_app.wait_for("views.publish")[-1]["view"])

    runtime = slack_app.runtime
    run_sweep(runtime, client_for(runtime), pacer=fast_pacer())
    covered = slack_app.double.messages("DUBEN")
    assert any("Covered for Ana Lopez, back Mon 22 Jun" in str(m["blocks"]) for m in covered)


def test_back_skips_the_reps_own_public_holiday(slack_app: SlackApp) -> None:
    _ana_and_ben(slack_app)
    slack_app.command("holidays US")
    _, reply = slack_app.command("away until thursday")  # Friday 19 June is Juneteenth
    assert "Away until Thu 18 Jun* (back Mon 22 Jun)" in all_text(reply)


def test_pressing_pause_twice_says_it_is_already_paused(slack_app: SlackApp) -> None:
    _ana_and_ben(slack_app)
    slack_app.double.add_user(USER_ID, email="u123@example.com", tz=NEW_YORK)
    friday_midnight = int(datetime(2026, 6, 20, 4, 0, tzinfo=UTC).timestamp())
    slack_app.double.set_status(USER_ID, text="OOO", emoji=":airplane:", expiration=friday_midnight)
    runtime = slack_app.runtime
    run_sweep(runtime, client_for(runtime), pacer=fast_pacer())
    header = slack_app.double.messages(f"D{USER_ID}")[0]
    pause, _ = buttons(header["blocks"])
    message = {"ts": header["ts"], "text": header["text"], "blocks": header["blocks"]}

    updates = len(slack_app.double.calls_to("chat.update"))
    for press in (1, 2):
        status, _ = slack_app.action(
            pause["action_id"],
            pause["value"],
            block_id="away_offer_actions",
            channel_id=f"D{USER_ID}",
            message=message,
        )
        assert status == 200
        update = slack_app.double.wait_for("chat.update", updates + press)[-1]
    assert "Already paused until Fri 19 Jun: no reminders until then." in all_text(update)
    assert "cancel or end" not in all_text(update)
    assert _periods(slack_app) == [(date(2026, 6, 15), date(2026, 6, 19), None)]


def test_29_february_in_a_common_year_is_refused_by_name(slack_app: SlackApp) -> None:
    _ana_and_ben(slack_app)
    _, reply = slack_app.command("away 29 feb")
    assert "There is no 29 Feb in 2027 (not a leap year)" in all_text(reply)
    assert _periods(slack_app) == []


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "text"),
    [
        (date(2025, 12, 2), date(2025, 12, 2), "Tue 2 Dec"),
        (date(2025, 12, 2), date(2025, 12, 5), "Tue 2 – Fri 5 Dec"),
        (date(2025, 11, 28), date(2025, 12, 5), "Fri 28 Nov – Fri 5 Dec"),
        (date(2026, 12, 24), date(2027, 1, 2), "Thu 24 Dec 2026 – Sat 2 Jan 2027"),
    ],
)
def test_spans_read_in_the_one_date_style(starts_on: date, ends_on: date, text: str) -> None:
    assert span_label(starts_on, ends_on) == text


def test_a_mention_of_someone_who_is_not_a_rep_names_them(slack_app: SlackApp) -> None:
    _ana_and_ben(slack_app)
    _, reply = slack_app.command("away tomorrow cover <@UNOBODY|No Body>")
    assert "I can't find a rep “@No Body” to cover for you" in all_text(reply)
    assert _periods(slack_app) == []
