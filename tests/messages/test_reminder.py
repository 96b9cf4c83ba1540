"""The morning reminder and the lines that acknowledge a reaction (or a form) on it."""

from __future__ import annotations

from datetime import date

from bot.messages.kit import finish_dicts
from bot.messages.reminder import acknowledgement, reminder_account
from bot.retention.results import DueAccount, ReactionAck, TouchSchedule
from tests.messages.samples import EVIL, facts, health, schedule, signal
from tests.support.slack_app import block_texts


def test_a_reaction_is_acknowledged_by_kind_and_by_whom() -> None:
    assert acknowledgement(ReactionAck("call", "U1")) == "📞 Call logged by <@U1>"
    assert acknowledgement(ReactionAck("note", "U1")) == "✅ Touch logged by <@U1>"
    assert acknowledgement(ReactionAck("visit", "U2")) == "🚗 Visit logged by <@U2>"
    snoozed = ReactionAck("snooze", "U1", until=date(2026, 6, 22))
    assert acknowledgement(snoozed) == "💤 Snoozed until 22 Jun by <@U1>"
    # Without a Slack id nobody is mentioned (and nothing from data is parsed).
    assert acknowledgement(ReactionAck("email", None)) == "✉️ Email logged by someone"


def test_acknowledgements_go_under_the_reminder_as_context_lines() -> None:
    due = DueAccount(facts(1), schedule(), [signal()], health(), (1.0,))
    lines = [acknowledgement(ReactionAck("call", "U1"))]
    message = reminder_account(due, acknowledgements=lines)
    last = message["blocks"][-1]
    assert last["type"] == "context" and last["elements"][0]["text"] == lines[0]
    # Re-rendered from stored blocks, a reminder keeps its acks within Slack's limit.
    assert len(finish_dicts([*message["blocks"]] * 30)) == 50


def test_a_reminder_due_today_says_one_day_not_one_days() -> None:
    daily = TouchSchedule(
        cadence_days=1,
        cadence_source="account",
        next_touch_due=date(2026, 6, 15),
        snoozed_until=None,
        days_overdue=0,
    )
    due = DueAccount(facts(1, EVIL), daily, [], health(), (1.0,))
    assert due.why[0] == "Due today: last touch 1 Jun 2026, every 1 day."
    text = "\n".join(block_texts(reminder_account(due)["blocks"]))
    assert "every 1 day." in text and "1 days" not in text
