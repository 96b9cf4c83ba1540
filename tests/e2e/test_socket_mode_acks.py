"""Socket Mode acks judged as Slack judges them: the double itself (raw WebSocket
clients that ack wrongly are refused), and the app's acks under a burst and a modal."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from websockets.sync.client import connect

from tests.doubles import socket_mode_double as smd
from tests.doubles.socket_mode_double import SocketModeDouble
from tests.support.slack_signing import view_submission_body
from tests.support.socket_app import (
    SocketApp,
    command_fields,
    interaction,
    seed_acme,
)

MODAL_VIEW = {
    "blocks": [{"type": "input", "block_id": "date", "label": {"type": "plain_text", "text": "D"}}]
}


def _modal_submission() -> dict:
    payload = interaction(view_submission_body("touch_log_modal", {}, "{}"))
    payload["view"].update(MODAL_VIEW)
    return payload


@pytest.mark.parametrize(
    "acks, problem",
    [
        ([{}, {}], "acked more than once"),
        ([{"payload": {"text": "x"}}], "a payload on a events_api envelope"),
        ([{"envelope_id": "nope"}], "never sent"),
    ],
)
def test_the_double_refuses_acks_slack_would_refuse(acks: list[dict], problem: str) -> None:
    with SocketModeDouble() as double, connect(double.connection_url()) as client:
        client.recv(2)  # hello
        envelope_id = double.event({"type": "event_callback", "event": {"type": "x"}})
        client.recv(2)
        for ack in acks:
            client.send(json.dumps({"envelope_id": envelope_id, **ack}))
        if acks[0].get("envelope_id") == "nope":
            client.send(json.dumps({"envelope_id": envelope_id}))
        double.wait_ack(envelope_id)
        time.sleep(0.2)  # let the last ack arrive (they are judged as they come)
        refused = double.take_refusals()
    assert any(problem in text for _, text in refused), refused


@pytest.mark.parametrize(
    "payload, problem",
    [
        ({"response_action": "errors", "errors": {"nowhere": "x"}}, "not an input block"),
        ({"response_action": "errors", "errors": {"date": ""}}, "non-empty string"),
        ({"response_action": "errors", "errors": {}}, "non-empty errors"),
        ({"response_action": "close"}, "unknown response_action"),
        ({"response_action": "update", "view": {"type": "modal"}}, "update:"),
    ],
)
def test_the_double_judges_view_submission_ack_payloads(payload: dict, problem: str) -> None:
    with SocketModeDouble() as double, connect(double.connection_url()) as client:
        client.recv(2)
        envelope_id = double.interactive(_modal_submission())
        client.recv(2)
        client.send(json.dumps({"envelope_id": envelope_id, "payload": payload}))
        double.wait_ack(envelope_id)
        refused = double.take_refusals()
    assert any(problem in text for _, text in refused), refused


def test_the_double_refuses_late_and_missing_acks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(smd, "ACK_LIMIT", 0.2)
    with SocketModeDouble() as double, connect(double.connection_url()) as client:
        client.recv(2)
        late = double.slash_command({"command": "/account", "text": ""})
        never = double.slash_command({"command": "/account", "text": "x"})
        client.recv(2)
        client.recv(2)
        time.sleep(0.3)
        client.send(json.dumps({"envelope_id": late}))
        double.wait_ack(late)
        refused = dict(double.take_refusals())
    assert "Slack gives up" in refused[late]
    assert refused[never] == "slash_commands never acked"


def test_a_valid_ack_is_not_refused() -> None:
    with SocketModeDouble() as double, connect(double.connection_url()) as client:
        client.recv(2)
        envelope_id = double.interactive(_modal_submission())
        client.recv(2)
        errors = {"response_action": "errors", "errors": {"date": "Pick a date."}}
        client.send(json.dumps({"envelope_id": envelope_id, "payload": errors}))
        double.wait_ack(envelope_id)
        assert double.take_refusals() == []


def test_a_burst_of_commands_over_socket_mode_is_acked_once_each_in_time(
    socket_app: SocketApp,
) -> None:
    seed_acme(socket_app.db)
    urls = [socket_app.slack.response_url(f"burst-{n}") for n in range(30)]
    with ThreadPoolExecutor(10) as pool:
        envelopes = list(
            pool.map(lambda url: socket_app.socket.slash_command(command_fields("acme", url)), urls)
        )
    for envelope_id in envelopes:
        socket_app.socket.wait_ack(envelope_id)
    # The double judged every ack as it came (once, within 3 s, a valid payload).
    assert socket_app.socket.refusals == []
    assert all(len(socket_app.socket.acks_for(e)) == 1 for e in envelopes)
