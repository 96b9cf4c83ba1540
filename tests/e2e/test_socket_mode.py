"""Rebuy over Socket Mode, end to end: the real app (`create_app`, no signing secret) run
by `bot.server.start_socket_mode` with an app-level token. slack_sdk's built-in
Socket Mode client asks the Web API double for a URL (`apps.connections.open`),
connects to the local WebSocket double, and receives Slack-shaped envelopes; the
acknowledgements come back on the socket, answers land in the Web API double.

SQLite only: the transport does not depend on the database, and every handler
behind it is tested on SQLite and PostgreSQL through the HTTP endpoint.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.reminders import run_sweep
from models import ReminderMessage, Touch
from tests.support import factories as f
from tests.support.reminders import due_account, fast_pacer, linked_rep
from tests.support.slack_signing import (
    app_home_opened_event,
    block_actions_body,
    datepicker,
    event_callback_body,
    reaction_event,
    static_select,
    text_input,
    view_submission_body,
)
from tests.support.socket_app import (
    ANA,
    WAIT,
    SocketApp,
    command_fields,
    interaction,
    seed_acme,
)

# ---------------------------------------------------------------------- Slack's payloads as dicts
# Over Socket Mode Slack sends the same fields as over HTTP, decoded, inside an envelope.


def event_body(event: Mapping[str, Any], event_id: str) -> dict[str, Any]:
    return json.loads(event_callback_body(event, event_id))


# ---------------------------------------------------------------------- the running app


# ---------------------------------------------------------------------- slash commands


def test_account_command_is_acked_and_the_card_arrives_at_the_response_url(
    socket_app: SocketApp,
) -> None:
    # Connected with the app token: the Web API double refuses apps.connections.open to
    # anything but an xapp- token, and the WebSocket double refuses URLs it did not issue.
    assert len(socket_app.slack.calls_to("apps.connections.open")) == 1
    assert socket_app.socket.connections_opened == 1 and socket_app.socket.refused == 0
    seed_acme(socket_app.db)
    response_url = socket_app.slack.response_url("acme")

    envelope_id = socket_app.socket.slash_command(command_fields("acme", response_url))

    ack = socket_app.socket.wait_ack(envelope_id)
    assert ack.raw == {"envelope_id": envelope_id}  # a plain ack: the card comes separately
    card = socket_app.response(response_url)
    assert card["response_type"] == "ephemeral"
    assert card["blocks"][0]["text"]["text"] == "Acme Corp"
    assert "Acme Corp" in card["text"]
    socket_app.quiesce()
    assert len(socket_app.socket.acks_for(envelope_id)) == 1


# ---------------------------------------------------------------------- events


def test_app_home_opened_is_acked_and_publishes_the_home(socket_app: SocketApp) -> None:
    seed_acme(socket_app.db)
    socket_app.slack.add_user(ANA, email="ana@seller.example")

    envelope_id = socket_app.socket.event(event_body(app_home_opened_event(ANA), "EvHome1"))

    assert socket_app.socket.wait_ack(envelope_id).raw == {"envelope_id": envelope_id}
    (published,) = socket_app.slack.wait_for("views.publish")
    assert published["user_id"] == ANA
    assert published["view"]["type"] == "home"
    assert "Ana Lima" in json.dumps(published["view"])


def test_a_retried_reaction_is_acked_and_not_processed_again(
    socket_app: SocketApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="handlers.events")
    with socket_app.db.transaction() as session:
        # 10:00 in New York at NOW: inside the morning window (REMINDER_CUTOFF 12:00).
        rep = linked_rep(session, "U1", tz="America/New_York")
        due_account(session, rep, "Acme Supply", value=40_000)
        due_account(session, rep, "Beta Tools")
    assert run_sweep(socket_app.runtime, socket_app.app.client, pacer=fast_pacer()).sent == 1
    with socket_app.db.session() as session:
        first = session.exec(select(ReminderMessage).where(ReminderMessage.position == 1)).one()
    reaction = event_body(
        reaction_event("phone", user_id="U1", channel_id=first.channel, ts=first.ts), "EvSock1"
    )

    delivery = socket_app.socket.event(reaction)
    assert socket_app.socket.wait_ack(delivery).raw == {"envelope_id": delivery}
    socket_app.runs.wait("EvSock1")
    socket_app.slack.wait_for("chat.update")

    # Slack did not see that ack in time and delivers the same event again.
    retry = socket_app.socket.event(reaction, retry_attempt=1, retry_reason="timeout")
    assert socket_app.socket.wait_ack(retry).raw == {"envelope_id": retry}
    # The app saw the retry number (Bolt turns `retry_attempt` into X-Slack-Retry-Num).
    assert "dropping repeated delivery of EvSock1 (retry 1)" in caplog.text

    socket_app.stop_app()
    socket_app.quiesce()  # anything the retry had started would have finished by now
    assert socket_app.runs.seen["EvSock1"] == 1  # the retry never reached a listener
    with socket_app.db.session() as session:
        touches = session.exec(select(Touch).where(Touch.source == "reaction")).all()
    assert [(t.account_id, t.kind) for t in touches] == [(first.account_id, "call")]
    assert len(socket_app.slack.calls_to("chat.update")) == 1


# ---------------------------------------------------------------------- interactivity


def test_buttons_and_modal_answers_travel_over_the_socket(socket_app: SocketApp) -> None:
    account_id = seed_acme(socket_app.db)
    click = interaction(
        block_actions_body(
            "touch_log", str(account_id), response_url=socket_app.slack.response_url("click")
        )
    )

    clicked = socket_app.socket.interactive(click)

    assert socket_app.socket.wait_ack(clicked).raw == {"envelope_id": clicked}
    (opened,) = socket_app.slack.wait_for("views.open")
    assert opened["trigger_id"] == click["trigger_id"]
    assert opened["view"]["callback_id"] == "touch_log_modal"

    # A field error is the ack's payload: Slack shows it in the modal.
    tomorrow = (f.NOW.date() + timedelta(days=1)).isoformat()
    submission = interaction(
        view_submission_body(
            "touch_log_modal",
            {
                "kind": {"value": static_select("call")},
                "date": {"value": datepicker(tomorrow)},
                "note": {"value": text_input(None)},
            },
            json.dumps({"account_id": account_id}),
        )
    )
    submitted = socket_app.socket.interactive(submission)

    ack = socket_app.socket.wait_ack(submitted)
    assert ack.payload == {
        "response_action": "errors",
        "errors": {"date": "A touch can't be in the future."},
    }
    with socket_app.db.session() as session:
        assert session.exec(select(Touch).where(Touch.source == "button")).all() == []


# ---------------------------------------------------------------------- connection lifecycle


def test_a_disconnect_message_moves_the_app_to_a_new_connection(socket_app: SocketApp) -> None:
    socket_app.socket.disconnect("refresh_requested")

    newest = socket_app.socket.wait_connected(2)
    socket_app.socket.wait_closed(0)
    assert len(socket_app.slack.calls_to("apps.connections.open")) == 2  # a fresh URL
    response_url = socket_app.slack.response_url("after-refresh")
    envelope_id = socket_app.socket.slash_command(command_fields("help", response_url))

    assert socket_app.socket.wait_ack(envelope_id).connection == newest
    assert "/account" in socket_app.response(response_url)["text"]


def test_setting_stop_shuts_the_handler_down_cleanly(socket_app: SocketApp) -> None:
    (handler,) = socket_app.handlers
    client = handler.client
    response_url = socket_app.slack.response_url("before-stop")
    socket_app.socket.wait_ack(
        socket_app.socket.slash_command(command_fields("help", response_url))
    )
    assert client.is_connected()

    took = socket_app.stop_app()

    assert took < WAIT
    socket_app.socket.wait_closed(0)
    assert socket_app.socket.open_connections == 0
    # Closed for good: no reconnection, every thread of the Socket Mode client finished.
    assert client.closed and not client.is_connected() and not client.auto_reconnect_enabled
    for runner in (
        client.current_session_runner,
        client.current_app_monitor,
        client.message_processor,
    ):
        assert not runner.is_alive()
    with pytest.raises(RuntimeError):
        client.message_workers.submit(lambda: None)  # shut down (and joined) by close()
    assert len(socket_app.slack.calls_to("apps.connections.open")) == 1
    assert socket_app.socket.connections_opened == 1
    with pytest.raises(AssertionError, match="no open Socket Mode connection"):
        socket_app.socket.slash_command(command_fields("help", socket_app.slack.response_url()))
