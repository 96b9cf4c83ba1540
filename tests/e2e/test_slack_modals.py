"""Buttons and modals end to end: block_actions open the right modal, view_submission
validates (field errors in the modal) and records who did what."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlmodel import select

from bot.retention.tactics.plans import plan_tactic_ids
from models import Account, AccountPlan, Snooze, Touch
from tests.support import factories as f
from tests.support.scenes import ANA, TODAY, post_reminder
from tests.support.slack_app import (
    ADMIN_ID,
    SlackApp,
    all_text,
    buttons,
)
from tests.support.slack_signing import datepicker, reaction_event, static_select, text_input

# Writes through Slack (or runs at its database's limits): on PostgreSQL too.
pytestmark = pytest.mark.both_databases

BEN = "UBEN"


def seed(slack_app: SlackApp) -> dict[str, int]:
    """Ana owns Acme Corp; Ben owns Beta Labs."""
    with slack_app.db.transaction() as session:
        ana = f.rep(session, "ana@seller.example", name="Ana Lima", slack_user_id=ANA)
        ben = f.rep(session, "ben@seller.example", name="Ben Ode", slack_user_id=BEN)
        acme = f.account(session, "Acme Corp", owner_id=ana.id)
        beta = f.account(session, "Beta Labs", owner_id=ben.id)
        f.order(session, acme, "2026-01-10", 900)
        return {"acme": acme.id, "beta": beta.id, "ana": ana.id}


def radio(value: str) -> dict:
    return {"type": "radio_buttons", "selected_option": {"value": value}}


def multi(*values: str) -> dict:
    return {
        "type": "multi_static_select",
        "selected_options": [
            {"value": v, "text": {"type": "plain_text", "text": v}} for v in values
        ],
    }


def plan_values(horizon: str | None, *, current="One line, $20k a quarter", target="Two lines"):
    return {
        "current_state": text_input(current),
        "target_state": text_input(target),
        "horizon": datepicker(horizon),
        "tactics": multi("ask-for-referral", "range-sell-adjacent-line"),
    }


# ------------------------------------------------------------------ buttons open modals


def test_log_button_opens_the_log_modal(slack_app: SlackApp) -> None:
    ids = seed(slack_app)

    status, _ = slack_app.action("touch_log", str(ids["acme"]))

    assert status == 200
    view = slack_app.wait_for("views.open")[0]["view"]
    assert view["callback_id"] == "touch_log_modal"
    assert view["title"]["text"] == "Log a touch"
    meta = json.loads(view["private_metadata"])
    assert meta["account_id"] == ids["acme"] and meta["channel"] == "C123"
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    kinds = [o["value"] for o in blocks["kind"]["element"]["options"]]
    assert kinds == ["call", "email", "meeting", "visit", "note"]
    assert blocks["date"]["element"]["initial_date"] == TODAY.isoformat()
    assert blocks["note"]["optional"] is True
    assert "*Acme Corp*" in all_text({"blocks": view["blocks"]})


def test_snooze_button_opens_the_snooze_modal(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    slack_app.action("touch_snooze", str(ids["acme"]))
    view = slack_app.wait_for("views.open")[0]["view"]
    assert view["callback_id"] == "snooze_modal"
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert [o["value"] for o in blocks["length"]["element"]["options"]] == ["1w", "2w", "4w"]
    assert blocks["reason"]["optional"] is True


def test_plan_button_refuses_a_non_owner_politely(slack_app: SlackApp) -> None:
    ids = seed(slack_app)

    status, response_url = slack_app.action("plan_edit", str(ids["beta"]), user_id=ANA)

    assert status == 200
    reply = slack_app.wait_response(response_url)[0]
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    assert "Only Ben Ode (the account owner) or a Rebuy admin" in reply["text"]
    assert slack_app.double.calls_to("views.open") == []


def test_plan_button_opens_the_plan_modal_for_an_admin(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    slack_app.action("plan_edit", str(ids["beta"]), user_id=ADMIN_ID)
    view = slack_app.wait_for("views.open")[0]["view"]
    assert view["callback_id"] == "plan_modal"
    horizon = {b.get("block_id"): b for b in view["blocks"]}["horizon"]
    initial = date.fromisoformat(horizon["element"]["initial_date"])
    assert TODAY + timedelta(days=91) <= initial <= TODAY + timedelta(days=150)


def test_account_show_button_replies_with_the_status_card(slack_app: SlackApp) -> None:
    ids = seed(slack_app)

    _, response_url = slack_app.action("account_show", str(ids["beta"]))

    reply = slack_app.wait_response(response_url)[0]
    assert reply["response_type"] == "ephemeral"
    assert reply["blocks"][0]["text"]["text"] == "Beta Labs"
    assert {b["action_id"] for b in buttons(reply["blocks"])} == {
        "touch_log",
        "touch_snooze",
        "plan_edit",
    }


def test_a_button_for_a_deleted_account_explains(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    with slack_app.db.transaction() as session:
        session.delete(session.get(Account, ids["beta"]))

    status, response_url = slack_app.action("touch_log", str(ids["beta"]))

    assert status == 200
    reply = slack_app.wait_response(response_url)[0]
    assert "no longer exists" in reply["text"]
    assert slack_app.double.calls_to("views.open") == []


def test_views_open_failing_tells_the_user(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    slack_app.double.fail_next("views.open", error="expired_trigger_id")
    status, response_url = slack_app.action("touch_snooze", str(ids["acme"]))
    assert status == 200
    assert "Sorry, something went wrong" in slack_app.wait_response(response_url)[0]["text"]


# ------------------------------------------------------------------ the log modal


def test_submitting_the_log_modal_logs_the_touch(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    meta = {"account_id": ids["acme"], "channel": "C123"}

    status, ack = slack_app.submit(
        "touch_log_modal",
        {
            "kind": static_select("visit"),
            "date": datepicker("2026-06-11"),
            "note": text_input("Walked the warehouse"),
        },
        meta,
        user_id=BEN,
    )

    assert (status, ack) == (200, {})
    with slack_app.db.session() as session:
        touch = session.exec(select(Touch)).one()
    assert touch.account_id == ids["acme"]
    assert (touch.kind, touch.source, touch.slack_user_id) == ("visit", "button", BEN)
    assert touch.note == "Walked the warehouse"
    assert touch.touched_at == datetime.combine(date(2026, 6, 11), time(12), tzinfo=UTC)
    confirmation = slack_app.wait_for("chat.postEphemeral")[0]
    assert (confirmation["channel"], confirmation["user"]) == ("C123", BEN)
    assert confirmation["text"] == "🚗 Logged a visit on *Acme Corp* (11 Jun 2026)."


def test_a_future_date_is_a_field_error_and_logs_nothing(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    tomorrow = (TODAY + timedelta(days=1)).isoformat()

    status, ack = slack_app.submit(
        "touch_log_modal",
        {"kind": static_select("call"), "date": datepicker(tomorrow), "note": text_input(None)},
        {"account_id": ids["acme"]},
    )

    assert status == 200
    assert ack["response_action"] == "errors"
    assert list(ack["errors"]) == ["date"]
    with slack_app.db.session() as session:
        assert session.exec(select(Touch)).all() == []


def test_a_too_long_note_is_a_field_error(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    _, ack = slack_app.submit(
        "touch_log_modal",
        {"kind": static_select("call"), "date": datepicker(None), "note": text_input("x" * 2001)},
        {"account_id": ids["acme"]},
    )
    assert ack["response_action"] == "errors" and "2,000" in ack["errors"]["note"]


def test_logging_from_a_reminder_acknowledges_on_the_reminder(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    channel, ts = post_reminder(slack_app, ids)

    slack_app.submit(
        "touch_log_modal",
        {"kind": static_select("email"), "date": datepicker(TODAY.isoformat())},
        {"account_id": ids["acme"], "channel": channel, "message_ts": ts},
    )

    update = slack_app.wait_for("chat.update")[0]
    assert (update["channel"], update["ts"]) == (channel, ts)
    assert update["blocks"][-1]["elements"][0]["text"] == f"✉️ Email logged by <@{ANA}>"
    assert slack_app.double.messages(channel)[0]["blocks"][-1] == update["blocks"][-1]


def test_a_reminders_lines_keep_what_its_forms_logged_after_a_reaction(
    slack_app: SlackApp,
) -> None:
    """The message is redrawn from what is stored on it: a later reaction must not wipe
    the line of a touch or snooze logged through the reminder's buttons."""
    ids = seed(slack_app)
    channel, ts = post_reminder(slack_app, ids)
    on_reminder = {"account_id": ids["acme"], "channel": channel, "message_ts": ts}
    log = {"kind": static_select("visit"), "date": datepicker(TODAY.isoformat())}

    slack_app.submit("touch_log_modal", log, on_reminder, view_id="VLOG1")
    slack_app.submit("touch_log_modal", log, on_reminder, view_id="VLOG1")  # sent twice
    slack_app.submit("snooze_modal", {"length": radio("2w")}, on_reminder)
    slack_app.event(reaction_event("phone", user_id=ANA, channel_id=channel, ts=ts))

    updates = slack_app.wait_for("chat.update", 4)
    lines = [b["elements"][0]["text"] for b in updates[-1]["blocks"] if b["type"] == "context"]
    assert lines[-3:] == [
        f"🚗 Visit logged by <@{ANA}>",
        f"📞 Call logged by <@{ANA}>",
        f"💤 Snoozed until 29 Jun by <@{ANA}>",
    ]
    with slack_app.db.session() as session:
        assert [t.kind for t in session.exec(select(Touch).order_by(Touch.id))] == ["visit", "call"]


# ------------------------------------------------------------------ the snooze modal


def test_submitting_the_snooze_modal_snoozes(slack_app: SlackApp) -> None:
    ids = seed(slack_app)

    status, ack = slack_app.submit(
        "snooze_modal",
        {"length": radio("4w"), "reason": text_input("Trade fair season")},
        {"account_id": ids["acme"]},
    )

    assert (status, ack) == (200, {})
    with slack_app.db.session() as session:
        snooze = session.exec(select(Snooze)).one()
    assert snooze.until == TODAY + timedelta(weeks=4)
    assert (snooze.reason, snooze.slack_user_id) == ("Trade fair season", ANA)
    dm = slack_app.wait_for("chat.postMessage")[0]
    assert dm["channel"] == ANA and dm["text"] == "💤 *Acme Corp* snoozed until 13 Jul 2026."


def test_a_snooze_without_a_reason_is_fine(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    slack_app.submit(
        "snooze_modal",
        {"length": radio("1w"), "reason": text_input(None)},
        {"account_id": ids["acme"]},
    )
    with slack_app.db.session() as session:
        snooze = session.exec(select(Snooze)).one()
    assert (snooze.until, snooze.reason) == (TODAY + timedelta(weeks=1), None)


# ------------------------------------------------------------------ the plan modal


@pytest.mark.parametrize("months_ahead", [2, 6])
def test_a_plan_horizon_outside_3_to_5_months_is_a_field_error(
    slack_app: SlackApp, months_ahead: int
) -> None:
    ids = seed(slack_app)
    horizon = (TODAY + timedelta(days=30 * months_ahead)).isoformat()

    status, ack = slack_app.submit("plan_modal", plan_values(horizon), {"account_id": ids["acme"]})

    assert status == 200 and ack["response_action"] == "errors"
    assert list(ack["errors"]) == ["horizon"]
    assert "between 15 Sep 2026 and 15 Nov 2026" in ack["errors"]["horizon"]
    with slack_app.db.session() as session:
        assert session.exec(select(AccountPlan)).all() == []


def test_empty_plan_fields_are_field_errors(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    _, ack = slack_app.submit(
        "plan_modal", plan_values("2026-10-15", current=" ", target=""), {"account_id": ids["acme"]}
    )
    assert set(ack["errors"]) == {"current_state", "target_state"}


def test_a_valid_plan_is_saved(slack_app: SlackApp) -> None:
    ids = seed(slack_app)

    status, ack = slack_app.submit(
        "plan_modal", plan_values("2026-10-15"), {"account_id": ids["acme"]}
    )

    assert (status, ack) == (200, {})
    with slack_app.db.session() as session:
        plan = session.exec(select(AccountPlan)).one()
    assert plan.account_id == ids["acme"]
    assert (plan.current_state, plan.target_state) == ("One line, $20k a quarter", "Two lines")
    assert plan.horizon == date(2026, 10, 15)
    assert plan_tactic_ids(plan) == ["ask-for-referral", "range-sell-adjacent-line"]
    assert plan.updated_by == ANA
    dm = slack_app.wait_for("chat.postMessage")[0]
    assert dm["text"] == "📋 Plan saved for *Acme Corp*: aiming for 15 Oct 2026."


def test_a_non_owner_cannot_save_a_plan(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    _, ack = slack_app.submit(
        "plan_modal", plan_values("2026-10-15"), {"account_id": ids["beta"]}, user_id=ANA
    )
    assert ack["response_action"] == "errors"
    assert "Only Ben Ode" in next(iter(ack["errors"].values()))
    with slack_app.db.session() as session:
        assert session.exec(select(AccountPlan)).all() == []


def test_an_admin_can_save_another_reps_plan(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    _, ack = slack_app.submit(
        "plan_modal", plan_values("2026-10-15"), {"account_id": ids["beta"]}, user_id=ADMIN_ID
    )
    assert ack == {}
    with slack_app.db.session() as session:
        assert session.exec(select(AccountPlan)).one().updated_by == ADMIN_ID


# ------------------------------------------------------------------ failures


@pytest.mark.parametrize(
    ("callback_id", "values", "field"),
    [
        ("touch_log_modal", {"kind": static_select("call")}, "kind"),
        ("snooze_modal", {"length": radio("1w")}, "length"),
        ("plan_modal", plan_values("2026-10-15"), "current_state"),
    ],
)
def test_a_modal_for_an_account_deleted_meanwhile_says_so(
    slack_app: SlackApp, callback_id: str, values: dict, field: str
) -> None:
    ids = seed(slack_app)
    with slack_app.db.transaction() as session:
        session.delete(session.get(Account, ids["acme"]))

    status, ack = slack_app.submit(callback_id, values, {"account_id": ids["acme"]})

    assert status == 200
    assert ack["response_action"] == "errors"
    assert "no longer exists" in ack["errors"][field]


def test_a_failing_confirmation_keeps_the_touch_and_the_200(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    slack_app.double.fail_next("chat.postEphemeral", error="channel_not_found")

    status, ack = slack_app.submit(
        "touch_log_modal",
        {"kind": static_select("call"), "date": datepicker(TODAY.isoformat())},
        {"account_id": ids["acme"], "channel": "CGONE"},
    )

    assert (status, ack) == (200, {})  # the modal closes: the touch was logged
    with slack_app.db.session() as session:
        assert session.exec(select(Touch)).one().kind == "call"
    # The channel refused the ephemeral confirmation: it comes as a DM instead, and
    # never as an error, since the touch was logged.
    confirmation = slack_app.wait_for("chat.postMessage")[0]
    assert confirmation["channel"] == ANA
    assert confirmation["text"] == "📞 Logged a call on *Acme Corp* (15 Jun 2026)."


def test_a_touch_logged_from_the_app_home_refreshes_the_home(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    home = {"id": "VHOME", "type": "home", "callback_id": "", "private_metadata": ""}
    status, _ = slack_app.action("touch_log", str(ids["acme"]), view=home)
    assert status == 200
    modal = slack_app.wait_for("views.open")[0]["view"]
    meta = json.loads(modal["private_metadata"])
    assert meta.get("home") and "channel" not in meta

    status, ack = slack_app.submit(
        "touch_log_modal",
        {"kind": static_select("call"), "date": datepicker(TODAY.isoformat())},
        meta,
    )
    assert (status, ack) == (200, {})
    published = slack_app.wait_for("views.publish")[0]
    assert published["user_id"] == ANA
    assert published["view"]["type"] == "home"


@pytest.mark.parametrize("fault", [{"status": 500}, {"drop": True}], ids=["500", "dropped"])
def test_a_confirmation_shown_before_a_5xx_is_not_sent_again_as_a_dm(
    slack_app: SlackApp, fault: dict
) -> None:
    ids = seed(slack_app)
    slack_app.double.fail_next("chat.postEphemeral", after=True, **fault)

    status, ack = slack_app.submit(
        "touch_log_modal",
        {"kind": static_select("call"), "date": datepicker(TODAY.isoformat())},
        {"account_id": ids["acme"], "channel": "C123"},
    )

    assert (status, ack) == (200, {})
    # Slack showed the ephemeral and then lost its answer: no DM on top of it.
    shown = [m for m, _, _ in slack_app.double.rejected if m == "chat.postEphemeral"]
    assert len(shown) + len(slack_app.double.calls_to("chat.postEphemeral")) == 1
    assert slack_app.double.calls_to("chat.postMessage") == []
