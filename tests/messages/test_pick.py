"""Pick lists and the JSON their buttons carry."""

from __future__ import annotations

import json

import pytest

from bot.messages.ids import PICK_ACCOUNT_ACTION, SHOW_ACCOUNT_ACTION
from bot.messages.pick import pick_list, pick_value, read_pick_value
from tests.messages.samples import (
    assert_slack_accepts,
    assert_within_limits,
)
from tests.support.slack_app import block_texts, buttons


def test_pick_list_shows_at_most_25_buttons_with_short_labels() -> None:
    candidates = [(n, f"Account {n} " + "x" * 200) for n in range(1, 41)]
    message = pick_list("acc", candidates, ambiguous=True)
    assert_within_limits(message["blocks"])
    assert len(buttons(message["blocks"])) == 25
    assert "matches 40 accounts" in message["text"]


def test_pick_list_with_a_pending_action_carries_it_on_every_button() -> None:
    pending = {"do": "log", "kind": "email", "note": "sent <the> quote & more"}
    message = pick_list(
        "acme", [(1, "Acme Corp"), (2, "Acme Labs")], ambiguous=True, pending=pending
    )
    assert_within_limits(message["blocks"])
    actions = [b for b in message["blocks"] if b["type"] == "actions"]
    assert [b["block_id"] for b in actions] == ["account_pick"]
    values = [(b["action_id"], json.loads(b["value"])) for b in buttons(message["blocks"])]
    assert values == [
        ("account_pick:1", {"id": 1, **pending}),
        ("account_pick:2", {"id": 2, **pending}),
    ]
    assert all(PICK_ACCOUNT_ACTION.match(action_id) for action_id, _ in values)
    assert "Choose one and I'll log an email on it." in block_texts(message["blocks"])


def test_pick_list_without_an_action_shows_the_card() -> None:
    message = pick_list("acme", [(1, "Acme Corp"), (2, "Acme Labs")], ambiguous=True)
    # Slack refuses a block whose buttons share an action_id: one id per account.
    assert [b["action_id"] for b in buttons(message["blocks"])] == [
        "account_show:1",
        "account_show:2",
    ]
    assert all(SHOW_ACCOUNT_ACTION.match(b["action_id"]) for b in buttons(message["blocks"]))
    assert_slack_accepts(message)
    assert [b["value"] for b in buttons(message["blocks"])] == ["1", "2"]
    assert message["blocks"][-1]["block_id"] == "account_pick"


@pytest.mark.parametrize(
    ("pending", "says"),
    [
        ({"do": "snooze", "until": "2026-07-01", "reason": None}, "snooze it until 1 Jul 2026"),
        ({"do": "plan"}, "open its plan"),
        ({"do": "log", "kind": "call"}, "log a call on it"),
    ],
)
def test_pick_list_says_what_choosing_will_do(pending: dict, says: str) -> None:
    message = pick_list("zz", [(3, "Zeta")], ambiguous=False, pending=pending)
    assert f"Choose one and I'll {says}." in block_texts(message["blocks"])
    value = json.loads(buttons(message["blocks"])[0]["value"])
    assert value == {"id": 3, **{k: v for k, v in pending.items() if v is not None}}


def test_pick_list_tells_the_full_count_when_it_shows_only_some() -> None:
    message = pick_list(
        "initech", [(n, f"Initech {n}") for n in range(8)], ambiguous=True, total=1234
    )
    assert message["text"] == (
        "“initech” matches 1,234 accounts; here are the first 8. "
        "Type more of the name or the CRM id to narrow it down."
    )
    assert len(buttons(message["blocks"])) == 8
    few = pick_list("acme", [(1, "A"), (2, "B")], ambiguous=True, total=2)
    assert few["text"] == "“acme” matches 2 accounts. Which one did you mean?"


def test_pick_list_quotes_a_long_query_briefly() -> None:
    message = pick_list("&" * 5000, [(1, "A"), (2, "B")], ambiguous=True, pending={"do": "plan"})
    assert_within_limits(message["blocks"])
    assert len(message["text"]) < 800


@pytest.mark.parametrize("unit", ["x", "é", "🎉", '"', "\n", "\u0001", "<&>"])
def test_pick_values_fit_slack_however_long_the_note(unit: str) -> None:
    note = unit * 2000
    value = pick_value(7, {"do": "log", "kind": "call", "note": note})
    assert len(value.encode("utf-16-le")) // 2 <= 2000
    decoded = read_pick_value(value)
    assert decoded["id"] == 7 and decoded["do"] == "log" and decoded["cut"] == 1
    assert decoded["note"].endswith("…")
    assert note.startswith(decoded["note"][:-1])
    assert len(decoded["note"]) > 200  # most of it survives


def test_short_pick_values_are_kept_whole() -> None:
    value = pick_value(7, {"do": "snooze", "until": "2026-07-01", "reason": "on leave"})
    assert value == '{"id":7,"do":"snooze","until":"2026-07-01","reason":"on leave"}'
    assert read_pick_value(value)["reason"] == "on leave"


@pytest.mark.parametrize("raw", [None, "", "7", "not json", "[1]", '{"id": "7"}', '{"do": "log"}'])
def test_read_pick_value_refuses_what_is_not_a_pick(raw) -> None:
    assert read_pick_value(raw) == {}
