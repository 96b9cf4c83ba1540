"""`/account log` and `snooze` a rep can trust, end to end: a missing kind is asked with
buttons, a "when" is understood, a guessed name gets an Undo, and a text that is also an
account's name offers both readings. Signed requests into the real app, answers read
back from the strict Slack double, effects read from the database."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlmodel import select

from models import Snooze, Touch
from tests.support import factories as f
from tests.support.slack_app import SlackApp, all_text, buttons

# Writes through Slack (or runs at its database's limits): on PostgreSQL too.
pytestmark = pytest.mark.both_databases

ANA = "U123"  # the default acting user of the signed-request helpers
BEN = "UBEN"
TODAY = f.NOW.date()  # Monday 15 Jun 2026


def seed(slack_app: SlackApp) -> dict[str, int]:
    slack_app.double.add_user(ANA, email="ana@seller.example", real_name="Ana Lima")
    slack_app.double.add_user(BEN, email="ben@seller.example", real_name="Ben Ode")
    with slack_app.db.transaction() as session:
        ana = f.rep(session, "ana@seller.example", name="Ana Lima", slack_user_id=ANA)
        f.rep(session, "ben@seller.example", name="Ben Ode", slack_user_id=BEN)
        acme = f.account(session, "Acme Corp", owner_id=ana.id)
        zeta = f.account(session, "Zeta Tools", owner_id=ana.id)
        cabin = f.account(session, "Log Cabin Supplies", owner_id=ana.id)
        snooze = f.account(session, "Snooze Ltd", owner_id=ana.id)
        return {"acme": acme.id, "zeta": zeta.id, "cabin": cabin.id, "snooze": snooze.id}


def command_touches(slack_app: SlackApp) -> list[Touch]:
    with slack_app.db.session() as session:
        return list(session.exec(select(Touch).where(Touch.source == "command")).all())


def actions_in(reply: dict, block_id: str) -> list[dict]:
    found = [b for b in reply["blocks"] if b.get("block_id") == block_id]
    assert len(found) == 1, [b.get("block_id") for b in reply["blocks"]]
    return found[0]["elements"]


def click(slack_app: SlackApp, element: dict, *, user_id: str = ANA, **fields) -> dict:
    """Click a button as Slack would send it; the one reply on its response_url."""
    status, url = slack_app.action(
        element["action_id"], element["value"], user_id=user_id, **fields
    )
    assert status == 200
    return slack_app.wait_response(url)[0]


# ------------------------------------------------------------------ a missing kind is asked


def test_log_without_a_kind_asks_with_buttons_and_the_button_logs_it(slack_app: SlackApp) -> None:
    ids = seed(slack_app)

    _, reply = slack_app.command("log zeta tools talked about the renewal")

    assert reply["text"] == "What kind of touch was it on *Zeta Tools*?"
    assert reply["response_type"] == "ephemeral"
    kinds = actions_in(reply, "touch_kind")
    assert [b["text"]["text"] for b in kinds] == ["📞 Call", "✉️ Email", "🤝 Meeting", "✅ Other"]
    assert len({b["action_id"] for b in kinds}) == 4  # Slack refuses repeated action_ids
    assert command_touches(slack_app) == []  # nothing guessed, nothing logged yet

    answer = click(slack_app, kinds[2], message={"ts": "1700000000.000200"})

    assert answer["replace_original"] is True
    assert answer["text"] == "🤝 Logged a meeting on *Zeta Tools*. The cadence restarts today."
    touch = command_touches(slack_app)[0]
    assert (touch.account_id, touch.kind, touch.note) == (
        ids["zeta"],
        "meeting",
        "talked about the renewal",
    )
    assert touch.slack_user_id == ANA and touch.touched_at == f.NOW


def test_a_second_click_on_the_same_question_logs_nothing_more(slack_app: SlackApp) -> None:
    seed(slack_app)
    _, reply = slack_app.command("log zeta tools")
    call = actions_in(reply, "touch_kind")[0]

    click(slack_app, call, message={"ts": "1700000000.000300"})
    again = click(slack_app, call, message={"ts": "1700000000.000300"})

    assert "Already logged" in again["text"]
    assert [t.kind for t in command_touches(slack_app)] == ["call"]


def test_other_logs_a_note_from_the_button_and_the_command(slack_app: SlackApp) -> None:
    seed(slack_app)
    _, reply = slack_app.command("log zeta tools")
    click(slack_app, actions_in(reply, "touch_kind")[3], message={"ts": "1700000000.000400"})
    _, typed = slack_app.command("log acme corp other dropped by the warehouse")

    assert typed["text"].startswith("✅ Logged a note on *Acme Corp*")
    touches = sorted(command_touches(slack_app), key=lambda t: t.id)
    assert [(t.kind, t.note) for t in touches] == [
        ("note", None),
        ("note", "dropped by the warehouse"),
    ]


@pytest.mark.parametrize("value", ["not json", '{"id": 1, "kind": "fax"}', '{"kind": "call"}'])
def test_a_tampered_kind_button_is_explained(slack_app: SlackApp, value: str) -> None:
    seed(slack_app)
    answer = click(slack_app, {"action_id": "touch_kind:0", "value": value})
    assert "no longer works" in answer["text"]
    assert command_touches(slack_app) == []


# ------------------------------------------------------------------ when it happened


@pytest.mark.parametrize(
    ("when", "day"),
    [
        ("yesterday", date(2026, 6, 14)),
        ("2 days ago", date(2026, 6, 13)),
        ("a week ago", date(2026, 6, 8)),
        ("Mon", date(2026, 6, 8)),  # today is a Monday: the one before
        ("friday", date(2026, 6, 12)),
        ("on 3 jun", date(2026, 6, 3)),
        ("Jun 3", date(2026, 6, 3)),
        ("3 Dec", date(2025, 12, 3)),  # without a year: the last 3 Dec
        ("2026-05-31", date(2026, 5, 31)),
    ],
)
def test_log_understands_when_it_happened(slack_app: SlackApp, when: str, day: date) -> None:
    seed(slack_app)

    _, reply = slack_app.command(f"log acme corp meeting {when} lunch with the buyer")

    touch = command_touches(slack_app)[0]
    assert touch.touched_at.date() == day
    assert (touch.kind, touch.note) == ("meeting", "lunch with the buyer")
    assert reply["text"].startswith("🤝 Logged a meeting on *Acme Corp*, for ")
    assert day.isoformat() not in all_text(reply)  # people read "Mon 8 Jun", never ISO


def test_when_before_the_kind_and_today_read_naturally(slack_app: SlackApp) -> None:
    seed(slack_app)
    _, reply = slack_app.command("log acme corp yesterday call")
    assert reply["text"] == "📞 Logged a call on *Acme Corp*, for yesterday (Sun 14 Jun)."
    _, today = slack_app.command("log acme corp today email")
    assert today["text"] == "✉️ Logged an email on *Acme Corp*. The cadence restarts today."


def test_a_when_without_a_kind_is_kept_through_the_question(slack_app: SlackApp) -> None:
    seed(slack_app)
    _, reply = slack_app.command("log zeta tools 2 days ago")
    assert reply["text"] == "What kind of touch was it on *Zeta Tools* Sat 13 Jun?"
    click(slack_app, actions_in(reply, "touch_kind")[1], message={"ts": "1700000000.000500"})
    assert command_touches(slack_app)[0].touched_at.date() == date(2026, 6, 13)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("log acme corp call 2026-06-16", "can't be logged in the future"),
        ("log acme corp call 16 jun 2026", "can't be logged in the future"),
        ("log acme corp call 3 jan 2024", "up to two years back (730 days)"),
        ("log acme corp call 800 days ago", "up to two years back"),
        ("log acme corp call on 3/6", "can't tell the day from the month"),
        ("log acme corp call tomorrow", "can't be logged in the future"),
        ("log acme corp call next friday", "can't be logged in the future"),
        ("log acme corp call in 2 days", "can't be logged in the future"),
        ("log acme corp call 1 day from now", "can't be logged in the future"),
        ("log acme corp call two weeks from now to agree prices", "in the future"),
    ],
)
def test_a_when_a_touch_cannot_have_is_refused(slack_app: SlackApp, text: str, says: str) -> None:
    seed(slack_app)
    _, reply = slack_app.command(text)
    assert says in reply["text"]
    assert "2026-06-16" not in reply["text"] and "2024-01-03" not in reply["text"]
    assert command_touches(slack_app) == []


@pytest.mark.parametrize(
    ("text", "day", "note"),
    [
        # A weekday that is also an English word, with more text after it: the note's.
        ("meeting sat down with the buyer", TODAY, "sat down with the buyer"),
        ("call sun is shining on the deal", TODAY, "sun is shining on the deal"),
        ("email wed them the price list", TODAY, "wed them the price list"),
        ("meeting may follow up in July", TODAY, "may follow up in July"),
        # The same words as a day: the last word, or after "on"/"last".
        ("meeting sat", date(2026, 6, 13), None),
        ("meeting on sat sat down with the buyer", date(2026, 6, 13), "sat down with the buyer"),
        ("meeting last sun lunch", date(2026, 6, 14), "lunch"),
        ("call on wed", date(2026, 6, 10), None),
        ("call on mar 3 renewal talk", date(2026, 3, 3), "renewal talk"),
    ],
)
def test_weekday_words_are_a_day_only_where_they_can_be_one(
    slack_app: SlackApp, text: str, day: date, note: str | None
) -> None:
    seed(slack_app)
    slack_app.command(f"log acme corp {text}")
    (touch,) = command_touches(slack_app)
    assert (touch.touched_at.date(), touch.note) == (day, note)


def test_a_stale_kind_button_with_a_future_day_logs_nothing(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    future = (TODAY + timedelta(days=2)).isoformat()
    value = json.dumps({"id": ids["zeta"], "kind": "call", "on": future})
    answer = click(slack_app, {"action_id": "touch_kind:0", "value": value})
    assert "future" in answer["text"]
    assert command_touches(slack_app) == []


# ------------------------------------------------------------------ Undo after a guessed name


def test_a_guessed_name_says_which_account_and_undo_takes_back_exactly_that(
    slack_app: SlackApp,
) -> None:
    ids = seed(slack_app)
    with slack_app.db.transaction() as session:
        zeta = session.get(f.Account, ids["zeta"])
        f.touch(session, zeta, "2026-06-01", slack_user_id=ANA)  # an earlier touch stays

    _, reply = slack_app.command("log zeta call sent the price list")

    assert reply["text"] == (
        "📞 Logged a call on *Zeta Tools*, the closest match to “zeta”. The cadence restarts today."
    )
    (undo,) = actions_in(reply, "touch_undo")
    assert undo["text"]["text"] == "Undo"
    assert len(command_touches(slack_app)) == 2

    done = click(slack_app, undo)
    again = click(slack_app, undo)  # a second click (or a late retry) removes nothing more

    assert done["replace_original"] is True
    assert done["text"] == "↩️ Undone: a call on *Zeta Tools* is no longer logged."
    assert again["text"] == "↩️ Already undone."
    assert [t.touched_at.date() for t in command_touches(slack_app)] == [date(2026, 6, 1)]


def test_only_the_rep_who_logged_it_can_undo(slack_app: SlackApp) -> None:
    seed(slack_app)
    _, reply = slack_app.command("log zeta call")
    (undo,) = actions_in(reply, "touch_undo")
    answer = click(slack_app, undo, user_id=BEN)
    assert "Only the person who made this change" in answer["text"]
    assert len(command_touches(slack_app)) == 1


def test_an_exact_name_needs_no_undo(slack_app: SlackApp) -> None:
    seed(slack_app)
    _, reply = slack_app.command("log zeta tools call")
    assert not buttons(reply["blocks"])


def test_a_guessed_snooze_can_be_undone(slack_app: SlackApp) -> None:
    ids = seed(slack_app)

    _, reply = slack_app.command("snooze zeta 2w buyer on leave")

    assert reply["text"] == (
        "💤 *Zeta Tools* (the closest match to “zeta”) snoozed until 29 Jun 2026."
    )
    (undo,) = actions_in(reply, "touch_undo")
    done = click(slack_app, undo)
    assert done["text"] == "↩️ Undone: *Zeta Tools* is no longer snoozed."
    with slack_app.db.session() as session:
        assert session.exec(select(Snooze).where(Snooze.account_id == ids["zeta"])).all() == []


@pytest.mark.parametrize(
    "value", ['{"what": "touch", "key": "import:1"}', '{"what": "plan", "key": "cmd:0"}', "x"]
)
def test_a_tampered_undo_button_removes_nothing(slack_app: SlackApp, value: str) -> None:
    seed(slack_app)
    slack_app.command("log zeta tools call")
    answer = click(slack_app, {"action_id": "touch_undo", "value": value})
    assert "no longer works" in answer["text"]
    assert len(command_touches(slack_app)) == 1


# ------------------------------------------------------------------ two readings


def test_a_text_that_is_a_name_and_a_log_offers_both_readings(slack_app: SlackApp) -> None:
    ids = seed(slack_app)

    _, reply = slack_app.command("log cabin supplies")

    assert "reads two ways" in reply["text"]
    show, log = actions_in(reply, "account_pick")
    assert show["text"]["text"] == "Show Log Cabin Supplies"
    assert show["action_id"] == f"account_show:{ids['cabin']}"
    assert log["text"]["text"] == "Log a touch on Log Cabin Supplies"
    assert command_touches(slack_app) == []

    asked = click(slack_app, log, block_id="account_pick")

    assert asked["text"] == "What kind of touch was it on *Log Cabin Supplies*?"


def test_a_name_whose_sub_command_reading_is_incomplete_just_shows_the_card(
    slack_app: SlackApp,
) -> None:
    seed(slack_app)
    _, reply = slack_app.command("snooze ltd")  # no length: only the name makes sense
    assert "Snooze Ltd" in all_text(reply) and "reads two ways" not in reply["text"]
    with slack_app.db.session() as session:
        assert session.exec(select(Snooze)).all() == []


def test_a_log_on_a_name_starting_with_a_kind_word_reads_the_whole_name(
    slack_app: SlackApp,
) -> None:
    with slack_app.db.transaction() as session:
        f.account(session, "Acme")
        phone = f.account(session, "Acme Phone Repairs")
    _, reply = slack_app.command("log acme phone repairs email quote sent")
    touch = command_touches(slack_app)[0]
    assert (touch.account_id, touch.kind, touch.note) == (phone.id, "email", "quote sent")
    assert not buttons(reply["blocks"])


def test_when_counts_in_the_rep_s_own_time_zone(slack_app: SlackApp) -> None:
    """14:00 UTC on Mon 15 Jun is 04:00 on Tue 16 Jun in Kiritimati (UTC+14)."""
    with slack_app.db.transaction() as session:
        f.rep(session, "kai@seller.example", slack_user_id="UKAI", tz="Pacific/Kiritimati")
        f.account(session, "Acme Corp")

    slack_app.command("log acme corp call yesterday", user_id="UKAI")
    _, today = slack_app.command("log acme corp email 2026-06-16", user_id="UKAI")

    days = sorted(t.touched_at.date() for t in command_touches(slack_app))
    assert days == [date(2026, 6, 15), date(2026, 6, 15)]  # "today" there is logged now
    assert today["text"] == "✉️ Logged an email on *Acme Corp*. The cadence restarts today."


def test_an_ambiguous_log_without_a_kind_asks_after_the_pick(slack_app: SlackApp) -> None:
    with slack_app.db.transaction() as session:
        f.account(session, "Acme Corp")
        labs = f.account(session, "Acme Labs")

    _, reply = slack_app.command("log acme yesterday")

    assert "I'll ask what kind of touch it was" in all_text(reply)
    picks = {b["text"]["text"]: b for b in actions_in(reply, "account_pick")}
    asked = click(slack_app, picks["Acme Labs"], block_id="account_pick")
    assert asked["text"] == "What kind of touch was it on *Acme Labs* yesterday (Sun 14 Jun)?"
    click(slack_app, actions_in(asked, "touch_kind")[0], message={"ts": "1700000000.000600"})
    (touch,) = command_touches(slack_app)
    assert (touch.account_id, touch.kind, touch.touched_at.date()) == (
        labs.id,
        "call",
        date(2026, 6, 14),
    )
