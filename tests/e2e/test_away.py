"""Away days set in Slack: `/account away`, the Home line and its button, `/account
holidays`, and the morning's offer to pause when the rep's Slack status says away."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from bot.reminders import run_sweep
from bot.retention.away_dates import parse_away_range
from bot.retention.away_status import SlackStatus, away_offer, status_from_profile
from bot.retention.errors import InvalidInput
from models import AwayPeriod, Rep
from tests.support.reminders import client_for, due_account, fast_pacer, linked_rep
from tests.support.slack_app import SlackApp, all_text, build_runtime, buttons
from tests.support.slack_signing import USER_ID, app_home_opened_event

# Writes through Slack (or runs at its database's limits): on PostgreSQL too.
pytestmark = pytest.mark.both_databases

# The fixtures: a Slack Web API double and Rebuy served over HTTP against it.

WEDNESDAY = date(2026, 8, 5)
# Tests run at NOW, Monday 15 June 2026 14:00 UTC: 10:00 in New York, inside the window.
NEW_YORK = "America/New_York"


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("dec 24 to jan 2", "2026-12-24", "2027-01-02"),  # across New Year
        ("Dec 24 – Jan 2", "2026-12-24", "2027-01-02"),
        ("10-21 aug", "2026-08-10", "2026-08-21"),
        ("aug 10-aug 21", "2026-08-10", "2026-08-21"),
        ("2026-08-10 2026-08-21", "2026-08-10", "2026-08-21"),
        ("24.12.2026 - 02.01.2027", "2026-12-24", "2027-01-02"),  # dotted: day first
        ("tomorrow", "2026-08-06", "2026-08-06"),
        ("next week", "2026-08-10", "2026-08-14"),
        ("this week", "2026-08-05", "2026-08-07"),
        ("friday", "2026-08-07", "2026-08-07"),
        ("until friday", "2026-08-05", "2026-08-07"),
        ("tomorrow for 2 weeks", "2026-08-06", "2026-08-19"),
        ("from mon to fri", "2026-08-10", "2026-08-14"),
        ("3 aug - 21 aug", "2026-08-05", "2026-08-21"),  # under way: from today
    ],
)
def test_away_days_read_as_typed(text: str, first: str, last: str) -> None:
    span = parse_away_range(text, today=WEDNESDAY)
    assert (span.starts_on.isoformat(), span.ends_on.isoformat()) == (first, last)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("aug 21 to aug 3", r"The end \(Mon 3 Aug\) is before the start \(Fri 21 Aug\)"),
        ("2026-01-01", "Thu 1 Jan is already past"),
        ("jan 1 2027 to mar 1 2028", "a year at most"),
        ("soonish", "I can't read “soonish” as a date"),
        ("", "Say which days you are away"),
        ("sep 1 2027", "more than a year from now"),
    ],
)
def test_away_days_that_make_no_sense_are_explained(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_away_range(text, today=WEDNESDAY)


def _rep(slack_app: SlackApp, user_id: str = USER_ID, **fields) -> Rep:
    with slack_app.db.transaction() as session:
        fields.setdefault("name", "Ana Lopez")
        return linked_rep(session, user_id, tz=NEW_YORK, **fields)


def _periods(slack_app: SlackApp) -> list[tuple[date, date, int | None]]:
    with slack_app.db.session() as session:
        rows = session.exec(select(AwayPeriod).order_by(AwayPeriod.starts_on))
        return [(row.starts_on, row.ends_on, row.cover_rep_id) for row in rows]


def test_away_command_sets_shows_and_ends_away_days(slack_app: SlackApp) -> None:
    _rep(slack_app)
    status, reply = slack_app.command("away dec 24 to jan 2")
    assert status == 200 and reply["response_type"] == "ephemeral"
    assert "Away Thu 24 Dec 2026 – Sat 2 Jan 2027*: no reminders those days." in all_text(reply)
    assert [b["text"]["text"] for b in buttons(reply["blocks"])] == ["Cancel"]
    assert _periods(slack_app) == [(date(2026, 12, 24), date(2027, 1, 2), None)]

    _, shown = slack_app.command("away")
    assert "Away Thu 24 Dec 2026 – Sat 2 Jan 2027" in all_text(shown)

    _, clash = slack_app.command("away dec 31 to jan 5")
    clash_text = "Already away Thu 24 Dec 2026 – Sat 2 Jan 2027: cancel or end that period first."
    assert clash_text in all_text(clash)

    _, ended = slack_app.command("away end")
    assert "Cancelled: away Thu 24 Dec 2026 – Sat 2 Jan 2027" in all_text(ended)
    assert _periods(slack_app) == []
    _, none = slack_app.command("away")
    assert "You have no away days set" in all_text(none)


def test_away_with_a_cover_mention_and_bad_input(slack_app: SlackApp) -> None:
    _rep(slack_app)
    with slack_app.db.transaction() as session:
        ben = linked_rep(session, "UBEN", name="Ben Ode")
        ben_id = ben.id
    _, reply = slack_app.command("away tomorrow cover <@UBEN|ben>")
    assert "Away Tue 16 Jun*: no reminders that day. <@UBEN> gets your due accounts" in all_text(
        reply
    )
    assert _periods(slack_app) == [(date(2026, 6, 16), date(2026, 6, 16), ben_id)]

    _, unknown = slack_app.command("away next week cover @nobody")
    assert "I can't find a rep “@nobody” to cover for you" in all_text(unknown)
    _, backwards = slack_app.command("away aug 21 to aug 3")
    assert "is before the start" in all_text(backwards)
    assert len(_periods(slack_app)) == 1  # nothing recorded by the refusals


def test_someone_without_accounts_is_told_why(slack_app: SlackApp) -> None:
    slack_app.double.add_user(USER_ID, email="guest@example.com")
    _, reply = slack_app.command("away tomorrow")
    assert "I don't know your accounts yet" in all_text(reply)


def test_home_shows_the_away_days_and_cancel_takes_them_back(slack_app: SlackApp) -> None:
    _rep(slack_app)
    slack_app.command("away jul 6 to jul 10")
    assert slack_app.event(app_home_opened_event(USER_ID)) == 200
    home = slack_app.wait_for("views.publish")[-1]["view"]
    assert "Away Mon 6 – Fri 10 Jul*: no reminders those days." in all_text(home)
    cancel = next(b for b in buttons(home["blocks"]) if b["text"]["text"] == "Cancel")

    published = len(slack_app.double.calls_to("views.publish"))
    status, _ = slack_app.action(
        cancel["action_id"], cancel["value"], view={"type": "home", "blocks": home["blocks"]}
    )
    assert status == 200
    again = slack_app.wait_for("views.publish", published + 1)[-1]["view"]
    assert "Away" not in all_text(again)
    assert _periods(slack_app) == []


def test_holidays_command_sets_the_reps_country(slack_app: SlackApp) -> None:
    _rep(slack_app)
    _, reply = slack_app.command("holidays DE BY")
    text = all_text(reply)
    assert "your days off are now weekends and the public holidays of *DE-BY*" in text
    assert "Fri 25 Dec: Christmas Day" in text
    assert "Wed 6 Jan: Epiphany" in text  # Bavaria's, not all of Germany's
    with slack_app.db.session() as session:
        rep = session.exec(select(Rep).where(Rep.slack_user_id == USER_ID)).one()
        assert (rep.country, rep.subdivision) == ("DE", "BY")

    _, bad = slack_app.command("holidays XX")
    assert "Unknown holiday country" in all_text(bad)
    _, back = slack_app.command("holidays default")
    assert "weekends only" in all_text(back)


# --- the Slack status ---------------------------------------------------------------------


NOW = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)


def _status(emoji: str, text: str, expires: datetime | None) -> SlackStatus:
    return SlackStatus(emoji, text, expires)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        # Clears at midnight Saturday in New York: away through Friday.
        (_status(":palm_tree:", "Vacationing", datetime(2026, 6, 20, 4, 0, tzinfo=UTC)), 19),
        (_status("", "OOO until Thursday", datetime(2026, 6, 18, 22, 0, tzinfo=UTC)), 18),
        (_status(":spiral_calendar_pad:", "In a meeting", datetime(2026, 6, 19, tzinfo=UTC)), None),
        (_status(":palm_tree:", "Vacationing", None), None),  # no expiry: no offer
        (_status(":palm_tree:", "Vacationing", datetime(2026, 6, 15, 20, 0, tzinfo=UTC)), None),
    ],
)
def test_which_statuses_offer_a_pause(status: SlackStatus, expected: int | None) -> None:
    offer = away_offer(status, now=NOW, tz=NEW_YORK, already_offered=None)
    assert (offer.day if offer else None) == expected
    if offer is not None:  # once per status: not again for the same day
        assert away_offer(status, now=NOW, tz=NEW_YORK, already_offered=offer) is None
        # nor when an away period already covers tomorrow
        covered = [(date(2026, 6, 16), offer)]
        assert (
            away_offer(status, now=NOW, tz=NEW_YORK, already_offered=None, away_days=covered)
            is None
        )


def test_status_from_slacks_profile_shape() -> None:
    assert status_from_profile({"status_text": "", "status_emoji": "", "status_expiration": 0}) == (
        SlackStatus(None, None, None)
    )
    read = status_from_profile(
        {
            "status_text": "Vacationing",
            "status_emoji": ":palm_tree:",
            "status_expiration": 1781913600,
        }
    )
    assert read == SlackStatus(":palm_tree:", "Vacationing", datetime(2026, 6, 20, tzinfo=UTC))


def _morning(slack_app: SlackApp, user_id: str = USER_ID) -> list[dict]:
    runtime = slack_app.runtime
    run_sweep(runtime, client_for(runtime), pacer=fast_pacer())
    return slack_app.double.messages(f"D{user_id}")


def test_a_vacation_status_offers_once_to_pause_and_the_button_pauses(
    slack_app: SlackApp,
) -> None:
    ana = _rep(slack_app)
    with slack_app.db.transaction() as session:
        due_account(session, session.get(Rep, ana.id), "Acme")
    slack_app.double.add_user(USER_ID, email=ana.email, tz=NEW_YORK, real_name="Ana Lopez")
    friday_midnight = int(datetime(2026, 6, 20, 4, 0, tzinfo=UTC).timestamp())
    slack_app.double.set_status(
        USER_ID, text="Vacationing", emoji=":palm_tree:", expiration=friday_midnight
    )

    header, account = _morning(slack_app)
    # Never forced: the morning's set still comes, with the offer under the greeting.
    assert "Acme" in account["text"]
    offer = "Looks like you're away: your Slack status “:palm_tree: Vacationing” lasts until"
    assert f"{offer} Fri 19 Jun. Pause reminders until then?" in all_text(header)
    pause, keep = buttons(header["blocks"])
    assert (pause["text"]["text"], pause["value"]) == ("Pause until Fri 19 Jun", "2026-06-19")
    assert keep["text"]["text"] == "Keep them coming"
    with slack_app.db.session() as session:
        assert session.get(Rep, ana.id).away_offered_until == date(2026, 6, 19)

    updates = len(slack_app.double.calls_to("chat.update"))
    status, _ = slack_app.action(
        pause["action_id"],
        pause["value"],
        block_id="away_offer_actions",
        channel_id=f"D{USER_ID}",
        message={"ts": header["ts"], "text": header["text"], "blocks": header["blocks"]},
    )
    assert status == 200
    update = slack_app.double.wait_for("chat.update", updates + 1)[-1]
    assert buttons(update["blocks"]) == []
    assert "Paused until Fri 19 Jun: no reminders until then." in all_text(update)
    assert _periods(slack_app) == [(date(2026, 6, 15), date(2026, 6, 19), None)]


def test_the_offer_is_made_once_and_not_without_an_expiry(slack_app: SlackApp) -> None:
    ana = _rep(slack_app)
    bo = _rep(slack_app, "UBO", name="Bo Chen")
    with slack_app.db.transaction() as session:
        due_account(session, session.get(Rep, ana.id), "Acme")
        due_account(session, session.get(Rep, bo.id), "Borealis")
    for user_id, rep in ((USER_ID, ana), ("UBO", bo)):
        slack_app.double.add_user(user_id, email=rep.email, tz=NEW_YORK)
    slack_app.double.set_status(USER_ID, text="OOO", emoji=":airplane:", expiration=1781913600)
    slack_app.double.set_status("UBO", text="On vacation", emoji=":palm_tree:")  # no expiry

    assert "Looks like you're away" in all_text(_morning(slack_app)[0])
    assert "Looks like you're away" not in all_text(_morning(slack_app, "UBO")[0])
    # The next morning the same status is not offered again; the set comes as usual.
    tuesday = build_runtime(
        slack_app.db, slack_app.double, now=datetime(2026, 6, 16, 14, 0, tzinfo=UTC)
    )
    run_sweep(tuesday, client_for(tuesday), pacer=fast_pacer())
    messages = slack_app.double.messages(f"D{USER_ID}")
    assert len(messages) == 4 and "Looks like you're away" not in all_text(messages[2])


def test_users_list_failing_never_stops_the_morning(slack_app: SlackApp) -> None:
    ana = _rep(slack_app)
    with slack_app.db.transaction() as session:
        due_account(session, session.get(Rep, ana.id), "Acme")
    slack_app.double.fail_next("users.list", status=500, times=5)
    header, account = _morning(slack_app)
    assert "Acme" in account["text"] and "away" not in all_text(header)
