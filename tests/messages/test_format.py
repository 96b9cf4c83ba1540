"""Numbers, plurals, articles, money and dates read one way on every surface."""

from __future__ import annotations

from datetime import date

from bot.messages.book import account_list, book
from bot.messages.card import status_card
from bot.messages.digest import weekly_digest
from bot.messages.format import money, percent, streak_text, with_article
from bot.messages.kit import finish, section
from bot.messages.reminder import reminder_header
from bot.messages.report import recency_report
from bot.retention.report import CustomerGroup, RecencyReport
from bot.retention.results import (
    BookSummary,
    LeaderboardRow,
    RepCoverage,
    TouchSchedule,
    WeeklyDigest,
)
from tests.messages.samples import (
    TODAY,
    entry,
    facts,
    home_view,
    status,
)
from tests.support.slack_app import block_texts


def test_plurals_read_naturally() -> None:
    view = home_view(entries=[entry(1)], board=[LeaderboardRow("a@x", "Ana", "U1", 1, 1)], streak=1)
    text = "\n".join(block_texts(view["blocks"]))
    assert "1 account in your book" in text and "*1* working day in a row" in text
    assert "<@U1>: 1 touch on 1 account" in text
    mine = book(BookSummary(1, 0, 0, 0, 0, 0, 0), [], rep_label="Ana")
    assert mine["blocks"][0]["text"]["text"] == "Your book: 1 account"
    card = status_card(status(facts=facts(7, orders_count=1, occasions=1)))
    assert "1 order, $2,500 in all" in "\n".join(block_texts(card["blocks"]))


def test_articles() -> None:
    assert [with_article(k) for k in ("call", "email", "meeting", "visit", "note")] == [
        "a call",
        "an email",
        "a meeting",
        "a visit",
        "a note",
    ]
    assert with_article("update") == "an update"


def test_large_numbers_have_thousands_separators() -> None:
    summary = BookSummary(1704, 1012, 1308, 1500, 1100, 1001, 1234)
    mine = book(summary, [], rep_label="Ana")
    text = "\n".join(block_texts(mine["blocks"]))
    assert mine["text"] == "Ana: 1,704 accounts, 1,308 overdue"
    for shown in ("*Due today*\n1,012", "*Overdue*\n1,308", "*At risk*\n1,100"):
        assert shown in text
    listed = account_list("all", [entry(1)] * 1704)
    listed_text = "\n".join(block_texts(listed["blocks"]))
    assert "All: 1,704 accounts" in listed_text and "…and 1,689 more" in listed_text
    group = CustomerGroup("Best", 1, 1.0, 2.0, TODAY, TODAY, TODAY, 1200)
    report = RecencyReport(TODAY, 100_000, 1, 47_488, 1, 0, 0, group, group, group)
    recency = recency_report(report)
    assert recency["text"].startswith("Recency report: 47,488 of 100,000 accounts")
    assert "(1,200 days ago)" in "\n".join(block_texts(recency["blocks"]))
    header = reminder_header(count=1500, more=2500, hello="Good morning, Ana!")
    assert "1,500 accounts need you today (2,500 more due: `/account list due`)" in header["text"]
    # Covering for a colleague, the list it points to holds only the rep's own accounts.
    covering = reminder_header(
        count=10, more=4, hello="Hi!", covering=["Ben Ode"], more_covered=True
    )
    assert "(4 more due, yours and theirs: `/account list due` lists yours)" in covering["text"]
    many = finish([section(str(n)) for n in range(1100)])
    assert many[-1]["elements"][0]["text"] == "…and 1,051 more not shown."


def test_a_percent_never_rounds_to_all_or_none() -> None:
    assert [percent(x) for x in (1, 199 / 200, 0.9999, 0.87, 1 / 1000, 0.0004, 0)] == [
        "100%",
        "99.5%",
        ">99.9%",
        "87%",
        "0.1%",
        "<0.1%",
        "0%",
    ]


def test_money_and_dates_read_one_way() -> None:
    assert [money(v) for v in (-4800, -0.4, 0, 1234.5, None)] == [
        "−$4,800",
        "$0",
        "$0",
        "$1,234",
        "—",
    ]


def test_money_and_plurals_have_one_implementation() -> None:
    """The card, the CLI and the domain's own reasons share one money and one plural."""
    from bot import terminal
    from bot.messages import format as fmt
    from bot.retention import signals, wording

    assert fmt.money is wording.money is terminal.money is signals.money
    assert fmt.plural is wording.plural is terminal.plural
    assert [fmt.plural(n, "day") for n in (0, 1, 2, 1200)] == [
        "0 days",
        "1 day",
        "2 days",
        "1,200 days",
    ]


def test_streaks_read_as_an_invitation_or_a_count() -> None:
    assert streak_text(0).startswith("No streak yet")
    assert streak_text(1) == "1 working day in a row"
    assert streak_text(1500) == "1,500 working days in a row"


def test_the_digest_counts_one_touch_as_one_touch() -> None:
    digest = WeeklyDigest(
        week_start=date(2026, 6, 15),
        as_of=date(2026, 6, 15),
        reps=[RepCoverage("a@x", "Ana", "U1", accounts=2, covered=1, touches=1)],
        newly_at_risk=[],
        shout_outs=[],
    )
    message = weekly_digest(digest)
    text = "\n".join(block_texts(message["blocks"]))
    assert "1 touch in the last 7 days" in text and "1 touches" not in text
    assert message["text"] == (
        "Rebuy weekly digest: team coverage 50%, 1 touch, 0 accounts newly at risk"
    )


def test_the_domain_reasons_say_one_day_not_one_days() -> None:
    from bot.retention.signals import compute_signals

    daily = TouchSchedule(
        cadence_days=1,
        cadence_source="account",
        next_touch_due=date(2026, 6, 12),
        snoozed_until=None,
        days_overdue=1,
    )
    reasons = [s.reason for s in compute_signals(facts(1), as_of=TODAY, schedule=daily)]
    overdue = next(r for r in reasons if r.startswith("Touch overdue"))
    assert overdue == "Touch overdue by 1 working day (due 12 Jun, every 1 day)."
    assert not any("1 days" in r for r in reasons)
