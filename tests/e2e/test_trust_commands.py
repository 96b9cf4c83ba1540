"""`/account` through signed requests against the strict Slack double: an account's exact
name wins over the sub-command word it starts with."""

from __future__ import annotations

import pytest

from tests.support import factories as f
from tests.support.slack_app import SlackApp, all_text


def _seed(slack_app: SlackApp) -> None:
    with slack_app.db.transaction() as session:
        for name in ("Report Print Co", "Help Desk Supplies", "Plan B Logistics", "Acme Corp"):
            f.account(session, name)


@pytest.mark.parametrize("text", ["report print co", "help desk supplies", "Report Print Co share"])
def test_an_exact_account_name_wins_over_a_sub_command_word(slack_app: SlackApp, text) -> None:
    _seed(slack_app)
    status, reply = slack_app.command(text)
    assert status == 200
    name = text.removesuffix(" share")
    assert reply["blocks"][0]["type"] == "header"
    assert reply["blocks"][0]["text"]["text"].casefold() == name.casefold()


@pytest.mark.parametrize("text", ["Plan B Logistics", "plan b logistics share"])
def test_a_name_that_is_also_a_sub_command_on_an_account_offers_both(
    slack_app: SlackApp, text
) -> None:
    """`plan b logistics` is the account "Plan B Logistics" and also "open the plan of
    the account `b logistics` finds": the rep picks, nothing is guessed."""
    _seed(slack_app)
    _, reply = slack_app.command(text)
    assert reply["response_type"] == "ephemeral"
    (pick,) = [b for b in reply["blocks"] if b.get("block_id") == "account_pick"]
    labels = [button["text"]["text"] for button in pick["elements"]]
    assert labels == ["Show Plan B Logistics", "Open the plan of Plan B Logistics"]
    assert slack_app.double.calls_to("views.open") == []


def test_sub_commands_still_work_when_no_account_has_that_name(slack_app: SlackApp) -> None:
    _seed(slack_app)
    _, reply = slack_app.command("help")
    assert "/account log NAME" in all_text(reply)
    _, reply = slack_app.command("report")
    assert "Recency report" in all_text(reply)
    _, reply = slack_app.command("help desk")  # not a whole name: help it is
    assert "/account log NAME" in all_text(reply)
