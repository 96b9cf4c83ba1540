"""The status card: escaped, within Slack's limits, and worded right."""

from __future__ import annotations

import re
from datetime import date

from bot.messages.card import status_card
from bot.retention.results import (
    TouchSchedule,
)
from bot.retention.rfm import Rfm
from bot.retention.status import LastTouch, Person, Plan
from tests.messages.samples import (
    ESCAPED,
    EVIL,
    NOW,
    assert_escaped,
    assert_within_limits,
    facts,
    health,
    picks,
    signal,
    status,
)
from tests.support.slack_app import block_texts, mrkdwn_texts


def test_status_card_escapes_every_piece_of_data() -> None:
    card = status_card(
        status(
            EVIL,
            external_id="<!here>",
            tier="<!here>",
            owner_slack_user_id=None,
            owner_name=EVIL,
            signals=[signal(EVIL)],
            health=health(reasons=[EVIL]),
            rfm=Rfm(1, 1, 1, EVIL),
            last_touch=LastTouch(NOW, "call", EVIL, None, EVIL, "command"),
            contacts=[Person(EVIL, EVIL, None)],
            plan=Plan(EVIL, EVIL, date(2026, 10, 1), [], None, NOW),
            tactics=picks(why=EVIL),
        )
    )
    assert_escaped(card)
    assert card["text"].startswith(ESCAPED)
    joined = "\n".join(mrkdwn_texts(card))
    assert joined.count(ESCAPED) >= 8  # owner, reason, segment, touch, note, contact, plan, why
    # The header is plain_text, which Slack never parses for mentions.
    assert card["blocks"][0]["text"] == {"type": "plain_text", "text": EVIL, "emoji": True}


def test_an_owner_no_longer_in_slack_is_said_after_their_name() -> None:
    left = status("Acme", owner_slack_user_id="UEVE", owner_active=False)
    text = "\n".join(mrkdwn_texts(status_card(left)))
    assert "<@UEVE> (no longer in Slack: nobody is reminded of this account)" in text
    assert "no longer in Slack" not in "\n".join(mrkdwn_texts(status_card(status("Acme"))))


def test_status_card_stays_within_limits_with_huge_data() -> None:
    long = "Ä&<" * 700  # escapes to far more than 3,000 characters
    card = status_card(
        status(
            "N" * 300,
            external_id="X" * 128,
            contacts=[Person(f"Person {n} {long}", long, None) for n in range(200)],
            signals=[signal(long) for _ in range(30)],
            health=health(reasons=[long] * 30),
            last_touch=LastTouch(NOW, "call", "Ana", "U1", "n" * 2000, "command"),
            plan=Plan(long, long, date(2026, 10, 1), [], None, NOW),
            tactics=picks(why=long),
        )
    )
    assert_within_limits(card["blocks"])
    assert len(card["blocks"][0]["text"]["text"]) == 150 and card["blocks"][0]["text"][
        "text"
    ].endswith("…")
    assert len(card["text"]) < 4000
    text = "\n".join(block_texts(card["blocks"]))
    contacts = next(t for t in text.split("*Contacts*\n")[1:]).split("\n")
    shown = [line for line in contacts if line.startswith("• Person")]
    assert 1 <= len(shown) <= 6
    assert f"…and {200 - len(shown)} more" in contacts  # the count survives long lines
    assert "⚠️ *Single-threaded*" not in text  # 200 contacts is not single-threaded
    assert "n" * 201 not in text  # the note is shortened on the card


def test_single_threaded_is_flagged_on_the_card() -> None:
    card = status_card(status(signals=[signal("One contact.", "single_threaded")]))
    assert "*Single-threaded*" in "\n".join(block_texts(card["blocks"]))
    none = status_card(status(contacts=[]))
    none_text = "\n".join(block_texts(none["blocks"]))
    # Zero contacts is worse than single-threaded, and says so.
    assert "*No contact on file*" in none_text and "ingle" not in none_text


def test_the_card_says_one_day_not_one_days() -> None:
    one = TouchSchedule(
        cadence_days=1,
        cadence_source="tier",
        next_touch_due=date(2026, 6, 14),
        snoozed_until=None,
        days_overdue=1,
    )
    card = status_card(status(schedule=one))
    text = "\n".join(block_texts(card["blocks"]))
    assert "(1 working day overdue)" in text and "every 1 day" in text


def test_the_card_counts_order_days_writes_credits_with_a_minus_and_the_segment_in_words() -> None:
    card = status_card(
        status(facts=facts(7, orders_count=12, occasions=9, credit_rows=1, total_value=-4800.0))
    )
    text = "\n".join(block_texts(card["blocks"]))
    assert "11 orders on 9 days (plus 1 credit), −$4,800 in all" in text
    assert "$-" not in text
    assert not re.search(r"\bR\d F\d M\d\b", text)
