"""The book's lists, the Home tab and the recency report."""

from __future__ import annotations

from bot.messages.book import EMPTY_LISTS, account_list
from bot.messages.home import home
from bot.messages.report import recency_report
from bot.retention.report import CustomerGroup, RecencyReport
from bot.retention.results import (
    LeaderboardRow,
)
from tests.messages.samples import (
    ESCAPED,
    EVIL,
    TODAY,
    assert_escaped,
    assert_within_limits,
    entry,
    home_view,
)
from tests.support.slack_app import block_texts, mrkdwn_texts


def test_home_escapes_names_in_lists_and_leaderboard() -> None:
    view = home_view(entries=[entry(1, EVIL)], board=[LeaderboardRow(EVIL, EVIL, None, 3, 2)])
    assert_escaped(view)
    assert "&lt;!channel&gt; &amp; &lt;@U123&gt;: 3 touches on 2 accounts" in "\n".join(
        mrkdwn_texts(view)
    )


def test_recency_report_escapes_segment_and_tactic_names() -> None:
    group = CustomerGroup("Best", 1, 1.0, 2.0, TODAY, TODAY, TODAY, 10)
    report = RecencyReport(TODAY, 3, 1, 1, 1, 0, 0, group, group, group, segments={EVIL: 2})
    report.extra["tactic_win_rates"] = [{"title": EVIL, "wins": 1, "touches": 2, "win_rate": 0.5}]
    message = recency_report(report)
    assert_escaped(message)
    assert f"{ESCAPED} 2" in "\n".join(mrkdwn_texts(message))


def test_account_list_is_truncated_with_and_n_more() -> None:
    entries = [entry(n, "Z" * 300 + "&" * 300) for n in range(1, 201)]
    message = account_list("overdue", entries)
    assert_within_limits(message["blocks"])
    text = "\n".join(block_texts(message["blocks"]))
    assert "Overdue: 200 accounts" in text
    assert "…and 185 more" in text


def test_home_view_stays_within_100_blocks_and_says_and_n_more() -> None:
    entries = [entry(n, "Y" * 300) for n in range(1, 301)]
    board = [LeaderboardRow(f"r{n}@x", "R" * 200, None, n, n) for n in range(5)]
    view = home_view(entries=entries, board=board)
    assert view["type"] == "home"
    assert_within_limits(view["blocks"], max_blocks=100)
    text = "\n".join(block_texts(view["blocks"]))
    assert text.count("…and 295 more") == 4
    assert "🔥 Streak: *4* working days" in text
    assert "300 accounts in your book" in text


def test_home_for_an_unknown_user_has_no_book_parts() -> None:
    view = home(
        rep_label="welcome",
        summary=None,
        due=[],
        overdue=[],
        dormant=[],
        at_risk=[],
        streak=0,
        board=[],
        unknown_rep=True,
    )
    text = "\n".join(block_texts(view["blocks"]))
    assert "I don't know your accounts yet" in text
    assert "Overdue" not in text and "No touches logged in the last 7 days" in text


def test_every_list_filter_has_an_empty_message() -> None:
    from bot.retention.book import LIST_FILTERS

    assert set(EMPTY_LISTS) == set(LIST_FILTERS)
    for which in LIST_FILTERS:
        message = account_list(which, [])
        text = "\n".join(block_texts(message["blocks"]))
        assert EMPTY_LISTS[which] in text
        assert "No accounts are" not in text
    at_risk = "\n".join(block_texts(account_list("at-risk", [])["blocks"]))
    assert "Nothing is at risk right now (health under 50). 🎉" in at_risk


def test_a_group_without_orders_does_not_break_the_report() -> None:
    empty = CustomerGroup("Worst", 3, 0.0, 0.0, None, None, None, None)
    group = CustomerGroup("Best", 1, 1.0, 2.0, TODAY, TODAY, TODAY, 10)
    report = RecencyReport(TODAY, 4, 3, 3, 3, 3, 0, group, group, empty)
    text = "\n".join(block_texts(recency_report(report)["blocks"]))
    assert "*Worst*: 3 accounts, no orders yet" in text


def test_a_long_list_points_to_nothing_that_does_not_exist() -> None:
    """There is no `rebuy` export: the list says what it left out, not where to find it."""
    message = account_list("overdue", [entry(n, f"Account {n}") for n in range(1, 21)])
    text = "\n".join(block_texts(message["blocks"]))
    assert "…and 5 more" in text
    assert "export" not in text


def test_a_long_list_says_touching_moves_the_rest_up_only_where_it_does() -> None:
    """A touch takes an account off the due lists; a dormant or single-threaded account
    stays on its list however often it is touched."""
    entries = [entry(n, f"Account {n}") for n in range(1, 21)]
    for which, moves in (("due", True), ("overdue", True), ("dormant", False), ("all", False)):
        text = "\n".join(block_texts(account_list(which, entries)["blocks"]))
        assert "…and 5 more, not shown here: the most pressing come first" in text
        assert ("move up as you touch these" in text) is moves, which


def test_report_names_accounts_whose_owner_left_slack_as_such() -> None:
    """An account owned by a rep who left Slack has an owner: the admin line says which."""
    from bot.retention.report_result import Unowned

    group = CustomerGroup("Best", 1, 1.0, 2.0, TODAY, TODAY, TODAY, 10)
    report = RecencyReport(TODAY, 3, 1, 1, 1, 0, 0, group, group, group)

    def line(unowned: Unowned) -> str:
        return "\n".join(mrkdwn_texts(recency_report(report, unowned=unowned)))

    left = line(Unowned(2, ["A (1)", "B (2)"], left=2))
    assert "*Owner no longer in Slack* · 2 accounts, so nobody is reminded of them" in left
    assert "No owner" not in left
    mixed = line(Unowned(3, ["A (1)", "B (2)", "C (3)"], left=1))
    assert "*No active owner* · 3 accounts (1 of them: an owner no longer in Slack)" in mixed
    assert "*No owner* · 2 accounts, so" in line(Unowned(2, ["A (1)", "B (2)"]))


def test_sweep_summary_says_1_message() -> None:
    from bot.delivery.deliver import Outcome, RepOutcome
    from bot.delivery.sweep import SweepResult

    result = SweepResult(outcomes=[RepOutcome("ana@example.com", Outcome.SENT, posted=1)])
    assert "Sent today's reminders to 1 rep (1 message)." in str(result)
