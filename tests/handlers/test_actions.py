"""Card and pick-list buttons, called directly."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from bot.messages.ids import Action, View
from bot.retention.account_ops import ACCOUNT_GONE
from bot.retention.errors import InvalidInput
from handlers import actions
from models import Snooze, TacticExposure
from tests.handlers.conftest import ANA, button, texts
from tests.support import factories as f


def seed(runtime) -> int:
    with runtime.db.transaction() as session:
        ana = f.rep(session, "ana@seller.example", name="Ana Lima", slack_user_id=ANA)
        return f.account(session, "Acme Corp", owner_id=ana.id).id


def test_show_account_replies_with_the_card_and_notes_its_tactics(runtime, job, replies) -> None:
    acme = seed(runtime)
    actions.show_account(job(button(Action.SHOW_ACCOUNT, str(acme))))
    assert replies.last["blocks"][0]["text"]["text"] == "Acme Corp"
    assert replies.last["replace_original"] is False
    with runtime.db.session() as session:
        surfaces = {(e.account_id, e.surface) for e in session.exec(select(TacticExposure))}
    assert surfaces == {(acme, "card")}


def test_log_button_opens_the_modal_with_where_it_was_pressed(runtime, job, client) -> None:
    acme = seed(runtime)
    pressed = button(Action.LOG_TOUCH, str(acme))
    actions.open_log_modal(job(pressed))
    [opened] = client.calls_to("views.open")
    assert opened["trigger_id"] == pressed["trigger_id"]
    view = opened["view"]
    assert view["callback_id"] == View.LOG_MODAL
    meta = json.loads(view["private_metadata"])
    assert meta["account_id"] == acme and meta["channel"] == "C1"
    assert meta["response_url"] == pressed["response_url"]


def test_a_button_for_a_deleted_account_says_so(runtime, job, client) -> None:
    seed(runtime)
    with pytest.raises(InvalidInput) as raised:
        actions.open_snooze_modal(job(button(Action.SNOOZE, "999999")))
    assert raised.value.message == ACCOUNT_GONE
    assert client.calls == []


def test_a_snooze_pick_stores_the_snooze_and_replaces_the_pick_list(runtime, job, replies) -> None:
    acme = seed(runtime)
    value = json.dumps({"id": acme, "do": "snooze", "until": "2026-06-29", "reason": "travel"})
    actions.finish_pick(job(button(Action.PICK_ACCOUNT, value)))
    assert replies.last["replace_original"] is True
    assert "*Acme Corp* snoozed until" in texts(replies.last)
    with runtime.db.session() as session:
        [snooze] = session.exec(select(Snooze)).all()
    assert (snooze.account_id, str(snooze.until), snooze.reason) == (acme, "2026-06-29", "travel")
