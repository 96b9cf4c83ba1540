"""Events end to end: App Home on app_home_opened, reactions on reminders, and Slack's
repeated deliveries (same event_id, X-Slack-Retry-Num) recognised."""

from __future__ import annotations

import time

import pytest
from sqlmodel import select

from bot.app import finish_listeners
from handlers.events import EVENTS
from models import Rep, SlackEvent, Touch
from tests.support.scenes import ANA, BEN, post_reminder, sections, seed
from tests.support.slack_app import (
    SlackApp,
    all_text,
    buttons,
)
from tests.support.slack_signing import app_home_opened_event, reaction_event

# Writes through Slack (or runs at its database's limits): on PostgreSQL too.
pytestmark = pytest.mark.both_databases


def test_app_home_shows_the_reps_dashboard(slack_app: SlackApp) -> None:
    ids = seed(slack_app)

    assert slack_app.event(app_home_opened_event(ANA)) == 200

    publish = slack_app.wait_for("views.publish")[0]
    assert publish["user_id"] == ANA
    view = publish["view"]
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    parts = sections(view)
    assert "*Due Today GmbH*" in "\n".join(parts["Due today"])
    assert "*Overdue Oy*" in "\n".join(parts["Overdue"])
    # Dormant AB is also at risk (no contact, no order in 8 months): listed once, under
    # the more urgent heading.
    assert "*Dormant AB*" in "\n".join(parts["At risk"])
    assert "*Risky Inc*" in "\n".join(parts["At risk"])
    for name in ("Due Today GmbH", "Overdue Oy", "Dormant AB", "Risky Inc"):
        assert all_text(view).count(f"*{name}*") == 1, name
    assert "Fine Ltd" not in all_text(view)
    assert "Streak: *3* working days in a row" in all_text(view)
    board = "\n".join(parts["Team leaderboard"])
    assert board.index("<@U123>: 3 touches on 3 accounts") < board.index("<@UBEN>: 1 touch")
    log_buttons = {b["value"] for b in buttons(view["blocks"]) if b["action_id"] == "touch_log"}
    assert {str(ids["due"]), str(ids["overdue"]), str(ids["risky"])} <= log_buttons
    assert slack_app.double.home_view(ANA)["blocks"] == view["blocks"]


def test_app_home_for_someone_who_owns_nothing(slack_app: SlackApp) -> None:
    seed(slack_app)
    slack_app.double.add_user("UNEW", email="new@elsewhere.example")

    slack_app.event(app_home_opened_event("UNEW"))

    view = slack_app.wait_for("views.publish")[0]["view"]
    text = all_text(view)
    assert "I don't know your accounts yet" in text
    assert "Team leaderboard" in text


def test_app_home_is_published_only_to_the_user_who_opened_it(slack_app: SlackApp) -> None:
    seed(slack_app)
    slack_app.event(app_home_opened_event(ANA, tab="messages"))
    slack_app.event(app_home_opened_event(BEN))
    slack_app.wait_for("views.publish")
    slack_app.server.stop()  # let both listeners finish
    finish_listeners(slack_app.app, slack_app.runtime)
    assert [p["user_id"] for p in slack_app.double.calls_to("views.publish")] == [BEN]


def test_a_repeated_delivery_is_acked_and_not_processed_again(slack_app: SlackApp) -> None:
    seed(slack_app)
    event = app_home_opened_event(ANA)
    assert slack_app.event(event, event_id="EvHome1") == 200
    slack_app.wait_for("views.publish")

    assert slack_app.event(event, event_id="EvHome1", retry_num=1) == 200
    assert slack_app.event(event, event_id="EvHome1", retry_num=2, retry_reason="timeout") == 200
    slack_app.event(app_home_opened_event(ANA), event_id="EvHome2")  # a new opening
    slack_app.wait_for("views.publish", 2)
    slack_app.server.stop()
    finish_listeners(slack_app.app, slack_app.runtime)

    assert len(slack_app.double.calls_to("views.publish")) == 2
    with slack_app.db.session() as session:
        assert {e.event_id for e in session.exec(select(SlackEvent))} == {"EvHome1", "EvHome2"}


def test_a_retry_arriving_while_the_first_is_still_running_is_not_processed(
    slack_app: SlackApp,
) -> None:
    seed(slack_app)
    slack_app.double.delay("views.publish", 0.5, times=1)
    event = app_home_opened_event(ANA)
    slack_app.event(event, event_id="EvSlow")
    slack_app.wait_for("users.info")  # the first delivery is being handled
    assert slack_app.event(event, event_id="EvSlow", retry_num=1) == 200
    slack_app.server.stop()
    finish_listeners(slack_app.app, slack_app.runtime)
    assert len(slack_app.double.calls_to("views.publish")) == 1


def link_ana(slack_app: SlackApp, ids: dict[str, int]) -> None:
    """Reminders only go to reps linked to Slack; only that rep's reactions count."""
    with slack_app.db.transaction() as session:
        session.get(Rep, ids["ana"]).slack_user_id = ANA


def test_reacting_to_a_reminder_logs_a_touch_exactly_once(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    link_ana(slack_app, ids)
    channel, ts = post_reminder(slack_app, {"ana": ids["ana"], "acme": ids["overdue"]})
    phone = reaction_event("phone", channel_id=channel, ts=ts)

    assert slack_app.event(phone, event_id="EvReact1") == 200
    update = slack_app.wait_for("chat.update")[0]
    assert update["blocks"][-1]["elements"][0]["text"] == f"📞 Call logged by <@{ANA}>"
    assert slack_app.event(phone, event_id="EvReact1", retry_num=1) == 200
    # Slack can also deliver the same reaction under a new event id: the touch is keyed.
    assert slack_app.event(phone, event_id="EvReact2") == 200
    slack_app.server.stop()
    finish_listeners(slack_app.app, slack_app.runtime)

    with slack_app.db.session() as session:
        touches = session.exec(select(Touch).where(Touch.source == "reaction")).all()
    assert [(t.account_id, t.kind, t.slack_user_id) for t in touches] == [
        (ids["overdue"], "call", ANA)
    ]


def test_removing_the_reaction_takes_the_touch_back(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    link_ana(slack_app, ids)
    channel, ts = post_reminder(slack_app, {"ana": ids["ana"], "acme": ids["overdue"]})
    slack_app.event(reaction_event("white_check_mark", channel_id=channel, ts=ts))
    slack_app.wait_for("chat.update")
    slack_app.event(reaction_event("white_check_mark", channel_id=channel, ts=ts, removed=True))
    update = slack_app.wait_for("chat.update", 2)[1]
    assert update["blocks"][-1]["type"] == "section"  # the acknowledgement line is gone
    with slack_app.db.session() as session:
        assert session.exec(select(Touch).where(Touch.source == "reaction")).all() == []


def test_reactions_elsewhere_are_acked_and_ignored(slack_app: SlackApp) -> None:
    seed(slack_app)
    statuses = [
        slack_app.event(reaction_event("phone", channel_id="C999", ts="1700000099.000001")),
        slack_app.event(reaction_event("tada", channel_id="C999", ts="1700000099.000001")),
        slack_app.event(reaction_event("phone", removed=True)),
        slack_app.event({**reaction_event("phone"), "item": {"type": "file", "file": "F1"}}),
    ]
    assert statuses == [200, 200, 200, 200]
    slack_app.server.stop()
    finish_listeners(slack_app.app, slack_app.runtime)
    with slack_app.db.session() as session:
        assert session.exec(select(Touch).where(Touch.source == "reaction")).all() == []
        assert len(session.exec(select(SlackEvent)).all()) == 4
    assert slack_app.double.calls_to("chat.update") == []


def test_every_event_rebuy_listens_to_is_acked(slack_app: SlackApp) -> None:
    events = {
        "app_home_opened": app_home_opened_event(ANA),
        "reaction_added": reaction_event("phone"),
        "reaction_removed": reaction_event("phone", removed=True),
    }
    assert set(EVENTS) == set(events)
    for name in EVENTS:
        assert slack_app.event(events[name]) == 200, name


def test_a_slow_users_info_does_not_hold_up_other_work(slack_app: SlackApp) -> None:
    """Linking a rep calls Slack; that must happen outside the database's write lock
    (on SQLite one writer at a time), or every other command waits for Slack."""
    seed(slack_app)
    slack_app.double.delay("users.info", 2.0, times=1)
    slack_app.event(app_home_opened_event(ANA))
    time.sleep(0.2)  # the home listener is now waiting for users.info
    _, reply = slack_app.command("log fine ltd call")
    assert "Logged a call on *Fine Ltd*" in reply["text"]
    # Answered while the home was still waiting for Slack: nothing was published yet.
    assert slack_app.double.calls_to("views.publish") == []
    slack_app.wait_for("views.publish", timeout=5)
