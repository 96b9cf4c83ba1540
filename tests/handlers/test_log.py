"""`/account log`, `/account snooze`, the kind buttons and Undo, called directly."""

from __future__ import annotations

import json

from sqlmodel import select

from bot.messages.ids import Action
from handlers import commands, log
from models import Snooze, Touch
from tests.handlers.conftest import ANA, button, command
from tests.support import factories as f


def seed(runtime) -> int:
    with runtime.db.transaction() as session:
        ana = f.rep(session, "ana@seller.example", name="Ana Lima", slack_user_id=ANA)
        return f.account(session, "Acme Corp", owner_id=ana.id).id


def test_log_stores_the_touch_and_confirms(runtime, job, replies) -> None:
    acme = seed(runtime)
    commands.answer_command(job(command("log acme corp call talked renewal")))
    assert replies.last["text"].startswith("📞 Logged a call on *Acme Corp*")
    with runtime.db.session() as session:
        [touch] = session.exec(select(Touch)).all()
    assert (touch.account_id, touch.kind, touch.note, touch.source) == (
        acme,
        "call",
        "talked renewal",
        "command",
    )


def test_log_without_a_kind_asks_and_the_button_logs_once(runtime, job, replies) -> None:
    seed(runtime)
    commands.answer_command(job(command("log acme corp")))
    question = replies.last
    values = [
        element["value"]
        for block in question["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id", "").startswith(Action.LOG_KIND)
    ]
    email = next(v for v in values if json.loads(v)["kind"] == "email")
    pressed = button(Action.LOG_KIND, email)
    log.finish_kind(job(pressed))
    log.finish_kind(job(pressed))  # a second click on the same question
    assert replies.last["replace_original"] is True
    with runtime.db.session() as session:
        assert [t.kind for t in session.exec(select(Touch))] == ["email"]


def test_snooze_by_a_guessed_name_can_be_undone(runtime, job, replies) -> None:
    seed(runtime)
    commands.answer_command(job(command("snooze acme 2w buyer on leave")))
    assert "snoozed until" in replies.last["text"]
    assert "the closest match to" in replies.last["text"]
    undo = next(
        element["value"]
        for block in replies.last["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id") == Action.UNDO
    )
    with runtime.db.session() as session:
        assert len(session.exec(select(Snooze)).all()) == 1
    log.finish_undo(job(button(Action.UNDO, undo)))
    assert replies.last["text"] == "↩️ Undone: *Acme Corp* is no longer snoozed."
    with runtime.db.session() as session:
        assert session.exec(select(Snooze)).all() == []
