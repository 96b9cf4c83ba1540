"""The log, snooze and plan modals: within Slack's limits, escaped, and their metadata."""

from __future__ import annotations

import json
from datetime import date

import pytest

from bot.messages.modals import log_touch_modal, plan_modal, snooze_modal
from bot.retention.tactics import tactic_bank
from tests.messages.samples import (
    EVIL,
    TODAY,
    assert_escaped,
    assert_within_limits,
)


def view_titles(view: dict) -> list[str]:
    return [view[key]["text"] for key in ("title", "submit", "close") if key in view]


def test_modals_fit_slack_limits_with_long_names() -> None:
    name = EVIL + "N" * 400
    response_url = "https://hooks.slack.com/actions/T1/" + "9" * 60
    views = [
        log_touch_modal(
            account_id=1,
            account_name=name,
            today=TODAY,
            channel="C1",
            message_ts="1.2",
            response_url=response_url,
        ),
        snooze_modal(account_id=1, account_name=name, channel="C1"),
        plan_modal(
            account_id=1,
            account_name=name,
            today=TODAY,
            tactics=tactic_bank().values(),
            current_state="c" * 1000,
            target_state="t" * 1000,
            horizon=date(2026, 10, 1),
            chosen=["ask-for-referral"],
        ),
    ]
    for view in views:
        assert view["type"] == "modal"
        assert all(len(title) <= 24 for title in view_titles(view))
        assert len(view["private_metadata"]) <= 3000
        assert json.loads(view["private_metadata"])["account_id"] == 1
        assert_within_limits(view["blocks"], max_blocks=100)
        assert_escaped(view)
        for block in view["blocks"]:
            for option in (block.get("element") or {}).get("options", []):
                assert len(option["text"]["text"]) <= 75 and len(option["value"]) <= 150


def test_plan_modal_offers_the_tactic_bank_and_keeps_the_chosen_ones() -> None:
    view = plan_modal(
        account_id=1,
        account_name="Acme",
        today=TODAY,
        tactics=tactic_bank().values(),
        chosen=["ask-for-referral", "gone-from-the-bank"],
    )
    element = {b.get("block_id"): b for b in view["blocks"]}["tactics"]["element"]
    assert len(element["options"]) == len(tactic_bank()) <= 100
    assert [o["value"] for o in element["initial_options"]] == ["ask-for-referral"]
    horizon = {b.get("block_id"): b for b in view["blocks"]}["horizon"]["element"]
    assert horizon["initial_date"] == "2026-10-13"  # four months ahead by default


def test_metadata_too_large_is_refused_rather_than_cut() -> None:
    with pytest.raises(ValueError, match="private_metadata"):
        snooze_modal(account_id=1, account_name="A", note="x" * 3000)
