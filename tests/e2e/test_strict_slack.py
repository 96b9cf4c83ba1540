"""The Slack double refuses what Slack refuses, and Rebuy sends nothing Slack would refuse."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient
from sqlmodel import select as sql_select

from bot.demo import seed_demo
from models import Account, Touch
from tests.doubles.slack_double import SlackDouble
from tests.support.block_kit_rules import check_message, check_view
from tests.support.factories import NOW
from tests.support.slack_app import SlackApp, buttons
from tests.support.slack_signing import check_ack, slash_command_body


def section(text: str = "hi", **extra: Any) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(action_id: str = "a", text: str = "Go", **extra: Any) -> dict:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "action_id": action_id,
        **extra,
    }


def option(text: str = "One", value: str = "1") -> dict:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


def select(options: list[dict], **extra: Any) -> dict:
    return {"type": "static_select", "action_id": "s", "options": options, **extra}


def modal(blocks: list[dict], **extra: Any) -> dict:
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Rebuy"}, "blocks": blocks}
    return {**view, **extra}


def text_input(block_id: str = "note") -> dict:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": "Note"},
        "element": {"type": "plain_text_input", "action_id": "value"},
    }


def message(*blocks: dict) -> dict:
    return {"text": "fallback", "blocks": list(blocks)}


# One payload per rule: each is refused, and the problem names where.
REFUSED_MESSAGES = {
    "duplicate action_id in a block": (
        message({"type": "actions", "elements": [button("pick"), button("pick")]}),
        "/blocks/0/elements/1/action_id",
    ),
    "duplicate block_id in a message": (
        message(section(block_id="x"), section(block_id="x")),
        "/blocks/1/block_id",
    ),
    "51 blocks": (message(*[section() for _ in range(51)]), "/blocks"),
    "section text over 3,000": (message(section("x" * 3001)), "/blocks/0/text/text"),
    "11 section fields": (
        message({"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}),
        "/blocks/0/fields",
    ),
    "a section with neither text nor fields": (message({"type": "section"}), "/blocks/0"),
    "header over 150": (
        message({"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}),
        "/blocks/0/text/text",
    ),
    "a mrkdwn header": (
        message({"type": "header", "text": {"type": "mrkdwn", "text": "h"}}),
        "/blocks/0/text/type",
    ),
    "button text over 75": (
        message({"type": "actions", "elements": [button(text="b" * 76)]}),
        "/blocks/0/elements/0/text/text",
    ),
    "mrkdwn button text": (
        message(
            {"type": "actions", "elements": [{**button(), "text": {"type": "mrkdwn", "text": "b"}}]}
        ),
        "/blocks/0/elements/0/text/type",
    ),
    "button value over 2,000": (
        message({"type": "actions", "elements": [button(value="v" * 2001)]}),
        "/blocks/0/elements/0/value",
    ),
    "action_id over 255": (
        message({"type": "actions", "elements": [button("a" * 256)]}),
        "/blocks/0/elements/0/action_id",
    ),
    "block_id over 255": (message(section(block_id="b" * 256)), "/blocks/0/block_id"),
    "option text over 75": (
        message(section(accessory=select([option("o" * 76)]))),
        "/blocks/0/accessory/options/0/text/text",
    ),
    "option value over 150": (
        message(section(accessory=select([option(value="v" * 151)]))),
        "/blocks/0/accessory/options/0/value",
    ),
    "101 options": (
        message(section(accessory=select([option(value=str(i)) for i in range(101)]))),
        "/blocks/0/accessory/options",
    ),
    "mrkdwn option text in a select": (
        message(
            section(accessory=select([{"text": {"type": "mrkdwn", "text": "o"}, "value": "1"}]))
        ),
        "/blocks/0/accessory/options/0/text/type",
    ),
    "an initial option that is not an option": (
        message(section(accessory=select([option()], initial_option=option("Two", "2")))),
        "/blocks/0/accessory/initial_option",
    ),
    "11 context elements": (
        message({"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}),
        "/blocks/0/elements",
    ),
    "26 actions elements": (
        message({"type": "actions", "elements": [button(f"a{i}") for i in range(26)]}),
        "/blocks/0/elements",
    ),
    "empty text": (message(section("")), "/blocks/0/text/text"),
    "an unknown field": (message(section(colour="red")), "/blocks/0/colour"),
    "an unknown block type": (message({"type": "table"}), "/blocks/0/type"),
    "fallback text of 4,000": ({"text": "t" * 4000}, "/text"),
    "an input without a label": (
        message({k: v for k, v in text_input().items() if k != "label"}),
        "/blocks/0/label",
    ),
}


@pytest.mark.parametrize("rule", sorted(REFUSED_MESSAGES))
def test_each_message_rule_refuses_its_payload(rule: str) -> None:
    payload, pointer = REFUSED_MESSAGES[rule]
    verdict = check_message(payload)
    assert not verdict.ok
    assert any(f"[json-pointer:{pointer}]" in error for error in verdict.errors), verdict.errors


REFUSED_VIEWS = {
    "a modal without a title": ({"type": "modal", "blocks": [section()]}, "/view/title"),
    "a view without a type": ({"blocks": [section()]}, "/view/type"),
    "a title over 24": (
        modal([section()], title={"type": "plain_text", "text": "t" * 25}),
        "/view/title/text",
    ),
    "a submit over 24": (
        modal([text_input()], submit={"type": "plain_text", "text": "s" * 25}),
        "/view/submit/text",
    ),
    "a close over 24": (
        modal([section()], close={"type": "plain_text", "text": "c" * 25}),
        "/view/close/text",
    ),
    "inputs without submit": (modal([text_input()]), "/view/submit"),
    "private_metadata over 3,000": (
        modal([section()], private_metadata="m" * 3001),
        "/view/private_metadata",
    ),
    "101 blocks": ({"type": "home", "blocks": [section() for _ in range(101)]}, "/view/blocks"),
    "duplicate block_id in a view": (
        modal([text_input("x"), text_input("x")], submit={"type": "plain_text", "text": "Go"}),
        "/view/blocks/1/block_id",
    ),
    "an input without an element": (
        modal(
            [{k: v for k, v in text_input().items() if k != "element"}],
            submit={"type": "plain_text", "text": "Go"},
        ),
        "/view/blocks/0/element",
    ),
}


@pytest.mark.parametrize("rule", sorted(REFUSED_VIEWS))
def test_each_view_rule_refuses_its_payload(rule: str) -> None:
    view, pointer = REFUSED_VIEWS[rule]
    verdict = check_view(view)
    assert not verdict.ok
    assert any(f"[json-pointer:{pointer}]" in error for error in verdict.errors), verdict.errors


def test_what_slack_accepts_passes() -> None:
    ok = message(
        {"type": "header", "text": {"type": "plain_text", "text": "Acme"}},
        section(accessory=button("show:1", value="1")),
        {"type": "actions", "block_id": "pick", "elements": [button("pick:1"), button("pick:2")]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}]},
        {"type": "divider"},
    )
    assert check_message(ok).ok and not check_message(ok).warnings
    form = modal([text_input("a"), text_input("b")], submit={"type": "plain_text", "text": "Go"})
    assert check_view(form).ok


# --- the double answers like Slack ------------------------------------------------------------

SHARED_IDS = [{"type": "actions", "elements": [button("pick"), button("pick")]}]


@pytest.fixture
def slack() -> Iterator[SlackDouble]:
    with SlackDouble(clock=lambda: NOW) as double:
        yield double


def test_refused_blocks_get_invalid_blocks_with_the_errors(slack: SlackDouble) -> None:
    client = WebClient(token="xoxb-test", base_url=slack.api_url)
    for post in (
        lambda: client.chat_postMessage(channel="C1", text="t", blocks=SHARED_IDS),
        lambda: client.chat_postEphemeral(channel="C1", user="U1", text="t", blocks=SHARED_IDS),
    ):
        with pytest.raises(SlackApiError) as refused:
            post()
        assert refused.value.response["error"] == "invalid_blocks"
        assert refused.value.response["errors"] == [
            "duplicate action_id 'pick' [json-pointer:/blocks/0/elements/1/action_id]"
        ]
    ts = client.chat_postMessage(channel="C1", text="t")["ts"]
    with pytest.raises(SlackApiError):
        client.chat_update(channel="C1", ts=ts, text="t", blocks=SHARED_IDS)
    assert slack.messages("C1")[0]["text"] == "t" and "blocks" not in slack.messages("C1")[0]
    assert [r.method for r in slack.take_refusals()] == [
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.update",
    ]


def test_refused_views_get_invalid_arguments(slack: SlackDouble) -> None:
    client = WebClient(token="xoxb-test", base_url=slack.api_url)
    with pytest.raises(SlackApiError) as refused:
        client.views_open(trigger_id="1.2.3", view=modal([text_input()]))
    assert refused.value.response["error"] == "invalid_arguments"
    assert refused.value.response["response_metadata"]["messages"] == [
        "[ERROR] must provide submit when the view has input blocks [json-pointer:/view/submit]"
    ]
    with pytest.raises(SlackApiError):
        client.views_publish(user_id="U1", view=modal([section()]))  # Home must be "home"
    assert len(slack.take_refusals()) == 2


def test_a_refused_response_url_post_gets_400(slack: SlackDouble) -> None:
    webhook = WebhookClient(slack.response_url("r1"))
    response = webhook.send(text="t", blocks=SHARED_IDS)
    assert (response.status_code, response.body) == (400, "invalid_blocks")
    assert slack.calls_to("response_url") == []
    (refusal,) = slack.take_refusals()
    assert refusal.method == "response_url" and "duplicate action_id" in refusal.errors[0]


def test_a_test_that_leaves_a_refusal_unread_fails() -> None:
    double = SlackDouble()
    with pytest.raises(AssertionError, match="Slack would refuse"), double:
        WebhookClient(double.response_url()).send(text="t", blocks=SHARED_IDS)


def test_blocks_without_fallback_text_are_accepted_with_a_warning(slack: SlackDouble) -> None:
    client = WebClient(token="xoxb-test", base_url=slack.api_url)
    with pytest.warns(UserWarning):  # slack_sdk warns too
        response = client.chat_postMessage(channel="C1", blocks=[section()])
    assert response["response_metadata"]["warnings"] == ["missing_text_fallback"]
    assert slack.take_warnings() == [("chat.postMessage", "missing_text_fallback")]


def test_metadata_is_checked_and_served_only_when_asked_for(slack: SlackDouble) -> None:
    client = WebClient(token="xoxb-test", base_url=slack.api_url)
    good = {"event_type": "rebuy_reminder", "event_payload": {"run_id": 1, "position": 0}}
    posted = client.chat_postMessage(channel="C1", text="kept", metadata=good)
    # An event_type with a period: Slack posts the message, drops the metadata, warns.
    dropped = client.chat_postMessage(
        channel="C1", text="dropped", metadata={"event_type": "rebuy.reminder", "event_payload": {}}
    )
    assert dropped["response_metadata"]["warnings"] == ["invalid_metadata_schema"]
    assert slack.take_warnings() == [("chat.postMessage", "invalid_metadata_schema")]
    with pytest.raises(SlackApiError) as refused:
        client.api_call("chat.postMessage", json={"channel": "C1", "text": "t", "metadata": "x"})
    assert refused.value.response["error"] == "invalid_metadata_format"
    slack.take_refusals()

    plain = client.conversations_history(channel="C1")["messages"]
    assert [m["text"] for m in plain] == ["dropped", "kept"]
    assert all("metadata" not in m for m in plain)
    full = client.conversations_history(channel="C1", include_all_metadata=True)["messages"]
    assert [m.get("metadata") for m in full] == [None, good]
    # `oldest` is exclusive, as in Slack; message ts follow the double's clock.
    later = client.conversations_history(channel="C1", oldest=posted["ts"])["messages"]
    assert [m["text"] for m in later] == ["dropped"]
    since = (NOW - timedelta(minutes=1)).timestamp()
    assert len(client.conversations_history(channel="C1", oldest=f"{since:.6f}")["messages"]) == 2


def test_an_ack_slack_would_refuse_fails_the_test() -> None:
    headers = {"content-type": "application/json"}
    request = slash_command_body(text="acme")
    bad = json.dumps({"text": "t", "blocks": SHARED_IDS}).encode()
    with pytest.raises(AssertionError, match="invalid_command_response"):
        check_ack(request, 200, headers, bad)
    check_ack(request, 200, headers, json.dumps({"text": "t", "blocks": [section()]}).encode())
    update = {"response_action": "update", "view": modal([text_input()])}
    with pytest.raises(AssertionError, match="submit"):
        check_ack(b"payload=", 200, headers, json.dumps(update).encode())
    with pytest.raises(AssertionError, match="non-empty"):
        check_ack(b"payload=", 200, headers, b'{"response_action": "errors", "errors": {}}')


# --- Rebuy's pick lists on the demo workspace, through the strict double ----------------------


def seed_demo_workspace(slack_app: SlackApp) -> dict[str, int]:
    with slack_app.db.transaction() as session:
        seed_demo(session=session, now=NOW)
        rows = session.exec(
            sql_select(Account.id, Account.name).where(Account.name.like("Northwind%"))
        )
        return {name: account_id for account_id, name in rows}


def test_account_northwind_on_the_demo_gives_a_pick_list_slack_accepts(
    slack_app: SlackApp,
) -> None:
    northwind = seed_demo_workspace(slack_app)
    assert set(northwind) == {"Northwind Traders", "Northwind Logistics"}

    status, reply = slack_app.command("northwind")

    assert status == 200 and slack_app.double.refusals == []
    assert check_message(reply).ok
    picks = buttons(reply["blocks"])
    assert {b["text"]["text"]: b["action_id"] for b in picks} == {
        name: f"account_show:{account_id}" for name, account_id in northwind.items()
    }
    chosen = next(b for b in picks if b["text"]["text"] == "Northwind Logistics")

    _, response_url = slack_app.action(
        chosen["action_id"], chosen["value"], block_id="account_pick"
    )

    (card,) = slack_app.wait_response(response_url)
    assert card["replace_original"] is True
    assert card["blocks"][0]["text"]["text"] == "Northwind Logistics"
    assert slack_app.double.refusals == []


def test_account_log_northwind_call_on_the_demo_logs_on_the_account_chosen(
    slack_app: SlackApp,
) -> None:
    northwind = seed_demo_workspace(slack_app)

    status, reply = slack_app.command("log northwind call")

    assert status == 200 and slack_app.double.refusals == []
    picks = buttons(reply["blocks"])
    assert len({b["action_id"] for b in picks}) == len(picks) == 2
    chosen = next(b for b in picks if b["text"]["text"] == "Northwind Traders")
    assert chosen["action_id"] == f"account_pick:{northwind['Northwind Traders']}"
    with slack_app.db.session() as session:
        before = len(session.exec(sql_select(Touch).where(Touch.source == "command")).all())

    _, response_url = slack_app.action(
        chosen["action_id"], chosen["value"], block_id="account_pick"
    )

    (confirmation,) = slack_app.wait_response(response_url)
    assert "Logged a call" in confirmation["text"]
    with slack_app.db.session() as session:
        touches = session.exec(sql_select(Touch).where(Touch.source == "command")).all()
    assert len(touches) == before + 1
    assert (touches[-1].account_id, touches[-1].kind) == (northwind["Northwind Traders"], "call")
    assert slack_app.double.refusals == []
