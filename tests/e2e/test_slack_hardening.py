"""The Slack endpoint under load and faults, through signed requests to the real HTTP
endpoint and the Slack double (issue 7: acks, reactions, identity, replays, tampering)."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlmodel import select

from models import Snooze, Touch
from tests.support import factories as f
from tests.support.slack_app import SlackApp, all_text
from tests.support.slack_signing import (
    APP_ID,
    FORM,
    TEAM_ID,
    USER_ID,
    block_actions_body,
    event_callback_body,
    reaction_event,
    slash_command_body,
)

# Writes through Slack (or runs at its database's limits): on PostgreSQL too.
pytestmark = pytest.mark.both_databases

ANA = USER_ID
TS = "1700000000.000100"


def seed(slack_app: SlackApp) -> dict[str, int]:
    with slack_app.db.transaction() as session:
        ana = f.rep(session, "ana@seller.example", name="Ana Lima", slack_user_id=ANA)
        acme = f.account(session, "Acme Corp", owner_id=ana.id, cadence_days=30)
        f.order(session, acme, "2026-05-20")
        return {"ana": ana.id, "acme": acme.id}


def reminder(slack_app: SlackApp, ids: dict[str, int]) -> str:
    """A reminder about Acme in Ana's DM, as the daily run stores it; its channel."""
    channel = f"D{ANA}"
    with slack_app.db.transaction() as session:
        f.sent_reminder(
            session,
            ids["ana"],
            ids["acme"],
            channel=channel,
            ts=TS,
            text="Acme Corp: due",
            blocks_json=json.dumps(
                [{"type": "section", "text": {"type": "mrkdwn", "text": "*Acme Corp*"}}]
            ),
            posted_at=f.NOW,
        )
    return channel


def react(slack_app: SlackApp, name: str, at: float, *, removed=False, user=ANA, **kw) -> int:
    event = reaction_event(name, user_id=user, ts=TS, removed=removed)
    event["event_ts"] = f"{at:.6f}"
    return slack_app.event(event, **kw)


def touches(slack_app: SlackApp) -> list[tuple[str, str | None]]:
    with slack_app.db.session() as session:
        rows = session.exec(select(Touch).where(Touch.source == "reaction")).all()
        return [(t.kind, t.slack_user_id) for t in rows]


def snoozes(slack_app: SlackApp) -> int:
    with slack_app.db.session() as session:
        return len(session.exec(select(Snooze)).all())


def settle(slack_app: SlackApp) -> None:
    """Let every listener's work finish (the answer to Slack comes first)."""
    slack_app.server.stop()
    slack_app.app.listener_runner.listener_executor.shutdown(wait=True)


# --- defect 4: the ack never waits behind queued work -----------------------------------


def test_a_burst_of_100_signed_commands_is_acked_within_3_seconds_and_answered(
    slack_app: SlackApp,
) -> None:
    seed(slack_app)
    urls = [slack_app.new_response_url() for _ in range(100)]

    def send(url: str) -> tuple[int, float]:
        body = slash_command_body(text="acme", user_id=ANA, response_url=url)
        started = time.monotonic()
        status, _ = slack_app.post(body, FORM)
        return status, time.monotonic() - started

    with ThreadPoolExecutor(100) as pool:
        results = list(pool.map(send, urls))

    assert [status for status, _ in results] == [200] * 100
    slowest = max(seconds for _, seconds in results)
    assert slowest < 3.0, f"slowest ack took {slowest:.2f}s"
    for url in urls:
        answers = slack_app.wait_response(url, timeout=30)
        if "taking longer" in all_text(answers[0]):  # the watchdog spoke first: the
            answers = slack_app.wait_response(url, 2, timeout=30)  # card still follows
        assert "Acme Corp" in all_text(answers[-1])
    print(f"100 concurrent /account: slowest ack {slowest:.2f}s")


def test_work_that_has_not_answered_in_time_apologises_and_answers_later(
    slack_app: SlackApp,
) -> None:
    slack_app.listeners.watchdog.deadline = 0.5
    slack_app.double.delay("users.info", 1.5, times=1)  # `/account` asks who the user is
    status, first = slack_app.command("", user_id="UNEW")
    assert status == 200
    assert "taking longer" in first["text"]
    later = slack_app.double.wait_for("response_url", 2, timeout=5)[-1]
    assert "I don't know your accounts yet" in all_text(later)


# --- defect 7: a reaction is never acked and then lost ----------------------------------


def test_a_reaction_that_cannot_be_stored_is_refused_and_logged_once_on_retry(
    slack_app: SlackApp,
) -> None:
    ids = seed(slack_app)
    reminder(slack_app, ids)
    blocker = slack_app.db.engine.connect()
    try:
        if slack_app.db.is_sqlite:
            blocker.connection.driver_connection.execute("BEGIN IMMEDIATE")
        else:
            blocker.begin()
            blocker.exec_driver_sql("LOCK TABLE slack_event IN EXCLUSIVE MODE")
        started = time.monotonic()
        status = react(slack_app, "phone", 1_700_000_100, event_id="EvLocked")
        assert status >= 500, "a 2xx would tell Slack the reaction was stored"
        assert time.monotonic() - started < 3.0
    finally:
        if slack_app.db.is_sqlite:
            blocker.connection.driver_connection.execute("ROLLBACK")
        else:
            blocker.rollback()
        blocker.close()
    assert react(slack_app, "phone", 1_700_000_100, event_id="EvLocked", retry_num=1) == 200
    assert react(slack_app, "phone", 1_700_000_100, event_id="EvLocked", retry_num=2) == 200
    slack_app.wait_for("chat.update")
    settle(slack_app)
    assert touches(slack_app) == [("call", ANA)]


# --- defect 8: any order ends in the right state ----------------------------------------


@pytest.mark.parametrize(
    "order, present",
    [
        (["add@1", "remove@2"], False),
        (["remove@2", "add@1"], False),
        (["add@1", "remove@2", "add@1"], False),  # a late retry of the older add
        (["remove@2", "add@3"], True),
        (["add@3", "remove@2"], True),
        (["add@1", "remove@2", "add@3"], True),
        (["add@3", "add@1", "remove@2"], True),
    ],
)
@pytest.mark.parametrize("reaction", ["phone", "zzz"])
def test_reaction_events_in_any_order_end_in_the_right_state(
    slack_app: SlackApp, order: list[str], present: bool, reaction: str
) -> None:
    ids = seed(slack_app)
    reminder(slack_app, ids)
    for step in order:
        what, at = step.split("@")
        status = react(slack_app, reaction, 1_700_000_000 + int(at), removed=what == "remove")
        assert status == 200
    settle(slack_app)
    if reaction == "zzz":
        assert snoozes(slack_app) == (1 if present else 0)
    else:
        assert touches(slack_app) == ([("call", ANA)] if present else [])


# Skin tones: Slack sends the full name ("handshake::skin-tone-2"), and 🤝 and 🤝🏽 are two
# reactions that can both be on a message.
TONED = "handshake::skin-tone-2"


@pytest.mark.parametrize(
    "steps, present",
    [
        ([("add", "handshake"), ("add", TONED), ("remove", TONED)], True),
        ([("add", "handshake"), ("add", TONED), ("remove", "handshake")], True),
        ([("add", TONED), ("add", "handshake"), ("remove", TONED)], True),
        ([("add", "handshake"), ("add", TONED), ("remove", TONED), ("remove", "handshake")], False),
        ([("add", TONED), ("add", "handshake"), ("remove", "handshake"), ("remove", TONED)], False),
        ([("add", TONED), ("remove", TONED)], False),
    ],
)
def test_skin_tone_variants_are_reactions_of_their_own(
    slack_app: SlackApp, steps: list[tuple[str, str]], present: bool
) -> None:
    ids = seed(slack_app)
    reminder(slack_app, ids)
    for at, (what, name) in enumerate(steps, start=1):
        status = react(slack_app, name, 1_700_000_000 + at, removed=what == "remove")
        assert status == 200
    settle(slack_app)
    assert touches(slack_app) == ([("meeting", ANA)] if present else [])


def test_a_skin_tone_removal_delivered_before_its_add_leaves_the_plain_reaction(
    slack_app: SlackApp,
) -> None:
    ids = seed(slack_app)
    reminder(slack_app, ids)
    assert react(slack_app, "handshake", 1_700_000_001) == 200
    assert react(slack_app, TONED, 1_700_000_003, removed=True) == 200  # arrives first
    assert react(slack_app, TONED, 1_700_000_002) == 200
    assert react(slack_app, "handshake", 1_700_000_004, removed=True) == 200
    settle(slack_app)
    assert touches(slack_app) == []


# --- defect 9: only our workspace and app, only the reminder's rep -----------------------


def test_requests_for_another_workspace_or_app_are_ignored(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    reminder(slack_app, ids)
    event = reaction_event("phone", user_id=ANA, ts=TS)
    other_team = event_callback_body(event, team_id="T999")
    other_app = event_callback_body(event).replace(APP_ID.encode(), b"A999")
    assert slack_app.post(other_team, "application/json")[0] == 200
    assert slack_app.post(other_app, "application/json")[0] == 200
    url = slack_app.new_response_url()
    command = slash_command_body(text="log acme call", user_id=ANA, response_url=url)
    assert slack_app.post(command.replace(TEAM_ID.encode(), b"T999"), FORM)[0] == 200
    settle(slack_app)
    assert touches(slack_app) == []
    with slack_app.db.session() as session:
        assert session.exec(select(Touch)).all() == []
    assert slack_app.responses(url) == []


def test_reactions_by_someone_who_is_not_the_reminders_rep_change_nothing(
    slack_app: SlackApp,
) -> None:
    ids = seed(slack_app)
    reminder(slack_app, ids)
    with slack_app.db.transaction() as session:
        f.rep(session, "ben@seller.example", slack_user_id="UBEN")
    assert react(slack_app, "phone", 1_700_000_001, user="UBEN") == 200
    assert react(slack_app, "phone", 1_700_000_002, user="USTRANGER") == 200
    settle(slack_app)
    assert touches(slack_app) == []


# --- defect 10: a replayed command or interaction acts once -----------------------------


def test_a_replayed_command_logs_one_touch(slack_app: SlackApp) -> None:
    seed(slack_app)
    url = slack_app.new_response_url()
    body = slash_command_body(text="log acme call", user_id=ANA, response_url=url)
    for _ in range(4):
        assert slack_app.post(body, FORM)[0] == 200
    settle(slack_app)
    with slack_app.db.session() as session:
        assert len(session.exec(select(Touch)).all()) == 1
    assert len(slack_app.responses(url)) == 1


def test_a_replayed_pick_button_snoozes_once(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    url = slack_app.new_response_url()
    until = (f.NOW.date() + timedelta(days=14)).isoformat()
    value = json.dumps({"id": ids["acme"], "do": "snooze", "until": until})
    body = block_actions_body(
        "account_pick", value, user_id=ANA, block_id="account_pick", response_url=url
    )
    for _ in range(3):
        assert slack_app.post(body, FORM)[0] == 200
    settle(slack_app)
    assert snoozes(slack_app) == 1


def test_a_double_clicked_log_pick_button_logs_once(slack_app: SlackApp) -> None:
    # A double click is two requests, each with its own trigger_id, on one message.
    ids = seed(slack_app)
    url = slack_app.new_response_url()
    value = json.dumps({"id": ids["acme"], "do": "log", "kind": "call"})
    container = {"type": "message", "message_ts": TS, "channel_id": "C123", "is_ephemeral": True}
    for _ in range(2):
        body = block_actions_body(
            "account_pick",
            value,
            user_id=ANA,
            block_id="account_pick",
            response_url=url,
            container=container,
        )
        assert slack_app.post(body, FORM)[0] == 200
    settle(slack_app)
    with slack_app.db.session() as session:
        assert len(session.exec(select(Touch)).all()) == 1
    assert [all_text(answer).count("Logged a call") for answer in slack_app.responses(url)] in (
        [2, 0],
        [0, 2],
    )


# --- defect 11: tampered values get a clear message --------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        '{"id": %(id)s, "do": "snooze", "until": "9999-12-31"}',
        '{"id": true, "do": "log", "kind": "call"}',
        '{"id": 1000000000000000000000000000000, "do": "log", "kind": "call"}',
        '{"id": %(id)s, "do": "launch"}',
        "not json",
    ],
)
def test_tampered_pick_values_get_a_clear_private_message(slack_app: SlackApp, value: str) -> None:
    ids = seed(slack_app)
    status, url = slack_app.action(
        "account_pick", value % {"id": ids["acme"]}, user_id=ANA, block_id="account_pick"
    )
    assert status == 200
    answer = slack_app.wait_response(url)[0]
    assert answer["response_type"] == "ephemeral"
    assert "Sorry, something went wrong" not in all_text(answer)
    assert "/account" in all_text(answer)
    settle(slack_app)
    assert snoozes(slack_app) == 0
    with slack_app.db.session() as session:
        assert session.exec(select(Touch)).all() == []


@pytest.mark.parametrize("value", ["true", "1" + "0" * 30, "-3", "1e3", ""])
def test_tampered_show_button_values_get_a_clear_private_message(
    slack_app: SlackApp, value: str
) -> None:
    seed(slack_app)
    status, url = slack_app.action("account_show", value, user_id=ANA)
    assert status == 200
    answer = slack_app.wait_response(url)[0]
    assert "no longer works" in all_text(answer)


def test_tampered_modal_metadata_is_refused_in_the_form(slack_app: SlackApp) -> None:
    seed(slack_app)
    for metadata in ({"account_id": True}, {"account_id": 10**30}, "[1, 2]"):
        status, ack = slack_app.submit("snooze_modal", {}, metadata, user_id=ANA)
        assert status == 200
        assert ack["response_action"] == "errors"
        assert "out of date" in ack["errors"]["length"]
    assert snoozes(slack_app) == 0


# --- defect 12: replies are not doubled after a 5xx -------------------------------------


def test_the_home_show_button_dms_once_when_slack_answers_500(slack_app: SlackApp) -> None:
    ids = seed(slack_app)
    slack_app.double.fail_next("chat.postMessage", status=500)
    body = block_actions_body(
        "account_show",
        str(ids["acme"]),
        user_id=ANA,
        view={"type": "home", "callback_id": ""},
    )
    assert slack_app.post(body, FORM)[0] == 200
    settle(slack_app)
    attempts = [m for m, _, status in slack_app.double.rejected if m == "chat.postMessage"]
    posted = slack_app.double.calls_to("chat.postMessage")
    # One attempt, never a blind second post: Slack may have posted before its 500.
    assert len(attempts) + len(posted) == 1


def test_only_idempotent_methods_are_retried() -> None:
    from slack_sdk.http_retry import HttpRequest

    from bot.slack_client import is_idempotent

    def request(method: str) -> HttpRequest:
        return HttpRequest(method="POST", url=f"https://slack.com/api/{method}", headers={})

    assert is_idempotent(request("views.publish"))
    assert is_idempotent(request("chat.update"))
    assert not is_idempotent(request("chat.postMessage"))
    assert not is_idempotent(request("chat.postEphemeral"))
