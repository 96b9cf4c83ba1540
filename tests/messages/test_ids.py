"""Every id the builders render is one of the enums in `bot.messages.ids` (which the
listeners register and the manifest test walks), and the numbered forms match only
their own action."""

from __future__ import annotations

from datetime import date

import pytest

from bot.messages.away import away_set, offer_blocks
from bot.messages.card import status_card
from bot.messages.home import home
from bot.messages.ids import (
    PICK_ACCOUNT_ACTION,
    SHOW_ACCOUNT_ACTION,
    Action,
    BlockId,
    Field,
    View,
)
from bot.messages.log import kind_question, two_readings, with_undo
from bot.messages.modals import log_touch_modal, plan_modal, snooze_modal
from bot.messages.pick import pick_list
from bot.messages.reminder import reminder_account
from bot.retention.calendar import WorkCalendar
from bot.retention.results import Away, AwayWithCover, BookSummary, DueAccount
from bot.retention.tactics import tactic_bank
from tests.messages.samples import TODAY, entry, facts, health, picks, schedule, signal, status


def _walk(node, found: dict[str, set[str]]) -> None:
    if isinstance(node, dict):
        for key in ("action_id", "block_id", "callback_id"):
            if isinstance(node.get(key), str):
                found[key].add(node[key])
        for value in node.values():
            _walk(value, found)
    elif isinstance(node, list):
        for value in node:
            _walk(value, found)


def _rendered() -> dict[str, set[str]]:
    """The ids in one of everything Rebuy renders with buttons, blocks or a callback."""
    due = DueAccount(facts(1), schedule(), [signal()], health(), (1.0,), picks()[0])
    away = Away(id=3, rep_id=1, starts_on=TODAY, ends_on=date(2026, 6, 19), cover_rep_id=None)
    payloads = [
        status_card(status()),
        reminder_account(due),
        pick_list("acme", [(1, "A"), (2, "B")], ambiguous=True),
        pick_list("acme", [(1, "A")], ambiguous=False, pending={"do": "plan"}),
        home(
            rep_label="Ana",
            summary=BookSummary(1, 1, 0, 0, 0, 0, 0),
            due=[entry(1)],
            overdue=[],
            dormant=[],
            at_risk=[],
            streak=2,
            board=[],
        ),
        kind_question(account_id=1, name="A", on=None, today=TODAY, note=None, query=None),
        with_undo("Done.", what="touch", key="k"),
        two_readings(
            "log cabin", name_id=1, name="Log Cabin", action_id=2, action_name="Cabin", pending={}
        ),
        away_set(AwayWithCover(away), today=TODAY, calendar=WorkCalendar()),
        {"blocks": offer_blocks(last_day=date(2026, 6, 19), emoji=None, text="Out")},
        log_touch_modal(account_id=1, account_name="A", today=TODAY),
        snooze_modal(account_id=1, account_name="A"),
        plan_modal(account_id=1, account_name="A", today=TODAY, tactics=tactic_bank().values()),
    ]
    found: dict[str, set[str]] = {"action_id": set(), "block_id": set(), "callback_id": set()}
    _walk(payloads, found)
    return found


def test_every_rendered_id_is_one_the_listeners_know() -> None:
    found = _rendered()
    actions = {a.partition(":")[0] for a in found["action_id"]} - {"value"}  # modal inputs
    assert actions == set(Action)  # every action is rendered somewhere, and no other
    # Blocks the listeners never look at carry no block_id (Slack gives them one).
    assert {b.partition(":")[0] for b in found["block_id"]} == {*BlockId, *Field}
    assert found["callback_id"] == set(View)


def test_ids_are_distinct_and_within_slack_limits() -> None:
    values = [*Action, *View]
    assert len(values) == len(set(values))
    biggest = 2**63 - 1  # an account id is a BIGINT
    assert all(len(Action(a).numbered(biggest)) <= 255 for a in Action)
    assert all(len(BlockId(b).of(biggest)) <= 255 for b in BlockId)


@pytest.mark.parametrize(
    ("action_id", "show", "pick"),
    [
        ("account_show", True, False),
        ("account_show:14", True, False),
        ("account_pick:14", False, True),
        ("account_show:x", False, False),
        ("account_shows", False, False),
        ("xaccount_show", False, False),
        ("account_show:14:2", False, False),
    ],
)
def test_numbered_patterns_match_their_own_action_only(action_id, show, pick) -> None:
    assert bool(SHOW_ACCOUNT_ACTION.match(action_id)) is show
    assert bool(PICK_ACCOUNT_ACTION.match(action_id)) is pick
