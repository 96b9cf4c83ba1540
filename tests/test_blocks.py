"""Block Kit builders: Slack's limits hold and data is escaped, whatever the data."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest

from bot.messages import blocks
from bot.retention.book import BookEntry, BookSummary, LeaderboardRow
from bot.retention.due import DueAccount
from bot.retention.facts import AccountFacts
from bot.retention.report import CustomerGroup, RecencyReport
from bot.retention.rfm import Rfm
from bot.retention.signals import Health, Signal, TouchSchedule
from bot.retention.status import AccountStatus, LastTouch, Person, Plan
from bot.retention.tactics import TacticPick, tactic_bank
from tests.block_kit_rules import VIEW_BLOCKS, check_message, check_view
from tests.slack_app_fixtures import block_texts, buttons, mrkdwn_texts

EVIL = "<!channel> & <@U123>"
ESCAPED = "&lt;!channel&gt; &amp; &lt;@U123&gt;"
TODAY = date(2026, 6, 15)
NOW = datetime(2026, 6, 15, 14, 0, tzinfo=UTC)


def facts(account_id: int = 1, name: str = "Acme Corp", **fields) -> AccountFacts:
    fields.setdefault("last_order_at", datetime(2025, 5, 1, 12, tzinfo=UTC))
    fields.setdefault("orders_count", 3)
    fields.setdefault("occasions", fields["orders_count"])
    fields.setdefault("total_value", 2500.0)
    fields.setdefault("last_touch_at", datetime(2026, 6, 1, 12, tzinfo=UTC))
    return AccountFacts(
        id=account_id,
        external_id=f"ACC-{account_id}",
        name=name,
        tier="mid",
        owner_id=1,
        annual_value=None,
        cadence_days=None,
        created_at=NOW,
        **fields,
    )


def signal(reason: str = "No order in over 12 months.", name: str = "dormant_12m") -> Signal:
    return Signal(name=name, reason=reason, penalty=35)


def schedule(days_overdue: int = 3) -> TouchSchedule:
    return TouchSchedule(
        cadence_days=30,
        cadence_source="tier",
        next_touch_due=date(2026, 6, 12),
        snoozed_until=None,
        days_overdue=days_overdue,
    )


def health(score: int = 30, reasons: list[str] | None = None) -> Health:
    return Health(score=score, band="at risk", reasons=reasons or ["−35: No order in a year."])


def picks(why: str = "Dormant: a year quiet.") -> list[TacticPick]:
    bank = list(tactic_bank().values())
    return [TacticPick(tactic=tactic, why=why) for tactic in bank[:3]]


def status(name: str = "Acme Corp", **over) -> AccountStatus:
    fields = dict(
        id=7,
        name=name,
        external_id="ACC-7",
        tier="mid",
        owner_email="ana@seller.example",
        owner_name="Ana",
        owner_slack_user_id="U1",
        annual_value=50_000.0,
        facts=facts(7, name),
        schedule=schedule(),
        signals=[signal()],
        health=health(),
        rfm=Rfm(1, 2, 3, "At risk"),
        last_order_amount=800.0,
        last_touch=LastTouch(
            at=datetime(2026, 6, 1, 12, tzinfo=UTC),
            kind="call",
            by="Ana",
            by_slack_user_id="U1",
            note="Asked about Q3",
            source="command",
        ),
        contacts=[Person("Carla", "Buyer", "carla@x.example")],
        plan=None,
        tactics=picks(),
        as_of=TODAY,
    )
    fields.update(over)
    return AccountStatus(**fields)


def entry(n: int, name: str | None = None, reason: str = "Touch overdue.") -> BookEntry:
    return BookEntry(
        facts(n, name or f"Account {n}"),
        schedule(days_overdue=n % 3),
        [signal(reason, "touch_overdue")],
        health(),
        TODAY,
    )


def assert_within_limits(payload_blocks: list[dict], *, max_blocks: int = 50) -> None:
    """Slack would accept these blocks: every rule of the strict double (block_kit_rules)."""
    if max_blocks == VIEW_BLOCKS:
        verdict = check_view({"type": "home", "blocks": payload_blocks})
    else:
        verdict = check_message({"text": "fallback", "blocks": payload_blocks})
    assert verdict.ok, verdict.errors


def assert_slack_accepts(payload: dict) -> None:
    """A whole message (blocks and fallback text) or view, as Slack would judge it."""
    verdict = check_view(payload) if "type" in payload else check_message(payload)
    assert verdict.ok, verdict.errors
    assert not verdict.warnings, verdict.warnings


def assert_escaped(payload: dict) -> None:
    for text in mrkdwn_texts(payload):
        for raw in ("<!channel>", "<@U123>", "<!here>"):
            assert raw not in text, text
        assert "&amp;lt;" not in text and "&amp;amp;" not in text, text  # escaped once


# ------------------------------------------------------------------ escaping


def test_escape_covers_the_three_characters_slack_parses() -> None:
    assert blocks.escape(EVIL) == ESCAPED
    assert blocks.escape("a&amp;b") == "a&amp;amp;b"  # data is data, even if it looks escaped
    assert blocks.escape(42) == "42"


def test_status_card_escapes_every_piece_of_data() -> None:
    card = blocks.status_card(
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


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(
            lambda: blocks.pick_list(EVIL, [(1, EVIL), (2, EVIL)], ambiguous=True), id="pick"
        ),
        pytest.param(lambda: blocks.pick_list(EVIL, [(1, EVIL)], ambiguous=False), id="mean"),
        pytest.param(lambda: blocks.pick_list(EVIL, [], ambiguous=False), id="none"),
        pytest.param(
            lambda: blocks.book(BookSummary(1, 1, 1, 1, 1, 1, 1), [entry(1, EVIL)], rep_label=EVIL),
            id="book",
        ),
        pytest.param(lambda: blocks.account_list("overdue", [entry(1, EVIL, EVIL)]), id="list"),
        pytest.param(lambda: blocks.help_message(blocks.escape(EVIL)), id="help"),
        pytest.param(lambda: blocks.notice(blocks.escape(EVIL)), id="notice"),
        pytest.param(lambda: blocks.reminder_header(count=2, more=0, rep_name=EVIL), id="header"),
        pytest.param(lambda: blocks.all_caught_up(rep_name=EVIL), id="caught-up"),
        pytest.param(
            lambda: blocks.reminder_account(
                DueAccount(
                    facts(1, EVIL), schedule(), [signal(EVIL)], health(), 1.0, picks(EVIL)[0]
                )
            ),
            id="reminder",
        ),
    ],
)
def test_every_message_escapes_data_once(payload) -> None:
    message = payload()
    assert_escaped(message)
    assert "&lt;!channel&gt;" in "\n".join(mrkdwn_texts(message))
    assert_within_limits(message["blocks"])


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
    message = blocks.recency_report(report)
    assert_escaped(message)
    assert f"{ESCAPED} 2" in "\n".join(mrkdwn_texts(message))


# ------------------------------------------------------------------ limits


def test_status_card_stays_within_limits_with_huge_data() -> None:
    long = "Ä&<" * 700  # escapes to far more than 3,000 characters
    card = blocks.status_card(
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
    card = blocks.status_card(status(signals=[signal("One contact.", "single_threaded")]))
    assert "*Single-threaded*" in "\n".join(block_texts(card["blocks"]))
    none = blocks.status_card(status(contacts=[]))
    none_text = "\n".join(block_texts(none["blocks"]))
    # Zero contacts is worse than single-threaded, and says so.
    assert "*No contact on file*" in none_text and "ingle" not in none_text


def test_pick_list_shows_at_most_25_buttons_with_short_labels() -> None:
    candidates = [(n, f"Account {n} " + "x" * 200) for n in range(1, 41)]
    message = blocks.pick_list("acc", candidates, ambiguous=True)
    assert_within_limits(message["blocks"])
    assert len(buttons(message["blocks"])) == 25
    assert "matches 40 accounts" in message["text"]


def test_account_list_is_truncated_with_and_n_more() -> None:
    entries = [entry(n, "Z" * 300 + "&" * 300) for n in range(1, 201)]
    message = blocks.account_list("overdue", entries)
    assert_within_limits(message["blocks"])
    text = "\n".join(block_texts(message["blocks"]))
    assert "Overdue: 200 accounts" in text
    assert "…and 185 more" in text


def test_finish_caps_blocks_and_says_how_many_were_left_out() -> None:
    many = [blocks.section(f"line {n}") for n in range(60)]
    out = blocks.finish(many)
    assert len(out) == 50
    assert out[48]["text"]["text"] == "line 48"
    assert out[-1]["elements"][0]["text"] == "…and 11 more not shown."
    raw = [b.to_dict() for b in many]
    kept = blocks.finish_dicts(raw)
    assert len(kept) == 50 and kept[-1]["elements"][0]["text"] == "…and 11 more."


def test_cut_adds_an_ellipsis_only_when_it_cuts() -> None:
    assert blocks.cut("short", 10) == "short"
    assert blocks.cut("x" * 20, 10) == "x" * 9 + "…"


def test_cutting_escaped_text_never_leaves_half_an_entity() -> None:
    assert blocks.cut_mrkdwn("a&amp;b", 4) == "a…"
    assert blocks.cut_mrkdwn("ab&lt;cd", 7) == "ab&lt;…"
    assert blocks.cut_mrkdwn("abc", 3) == "abc"


def home_view(*, entries, board, streak: int = 4) -> dict:
    return blocks.home(
        rep_label="Ana",
        summary=BookSummary(len(entries), 0, 0, 0, 0, 0, 0),
        due=entries,
        overdue=entries,
        dormant=entries,
        at_risk=entries,
        streak=streak,
        board=board,
    )


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
    view = blocks.home(
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
    assert "Overdue" not in text and "No touches logged this week yet" in text


def test_plurals_read_naturally() -> None:
    view = home_view(entries=[entry(1)], board=[LeaderboardRow("a@x", "Ana", "U1", 1, 1)], streak=1)
    text = "\n".join(block_texts(view["blocks"]))
    assert "1 account in your book" in text and "*1* working day in a row" in text
    assert "<@U1>: 1 touch on 1 account" in text
    book = blocks.book(BookSummary(1, 0, 0, 0, 0, 0, 0), [], rep_label="Ana")
    assert book["blocks"][0]["text"]["text"] == "Your book: 1 account"
    card = blocks.status_card(status(facts=facts(7, orders_count=1, occasions=1)))
    assert "1 order, $2,500 in all" in "\n".join(block_texts(card["blocks"]))


# ------------------------------------------------------------------ modals


def view_titles(view: dict) -> list[str]:
    return [view[key]["text"] for key in ("title", "submit", "close") if key in view]


def test_modals_fit_slack_limits_with_long_names() -> None:
    name = EVIL + "N" * 400
    response_url = "https://hooks.slack.com/actions/T1/" + "9" * 60
    views = [
        blocks.log_touch_modal(
            account_id=1,
            account_name=name,
            today=TODAY,
            channel="C1",
            message_ts="1.2",
            response_url=response_url,
        ),
        blocks.snooze_modal(account_id=1, account_name=name, channel="C1"),
        blocks.plan_modal(
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
    view = blocks.plan_modal(
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
        blocks.snooze_modal(account_id=1, account_name="A", note="x" * 3000)


# ------------------------------------------------------------------ entity-safe cuts


@pytest.mark.parametrize("pad", range(2990, 3000))
def test_sections_never_end_inside_an_entity(pad: int) -> None:
    text = "x" * pad + blocks.escape("&&&<<>>" * 10)
    for payload in (
        blocks.section(text).to_dict()["text"]["text"],
        blocks.context(text).to_dict()["elements"][0]["text"],
        blocks.notice(text)["blocks"][0]["text"]["text"],
    ):
        assert len(payload) <= 3000
        assert payload.endswith("…")
        tail = payload[:-1]
        assert tail[tail.rfind("&") :].endswith(";") or "&" not in tail[-6:]
        for broken in ("&a…", "&am…", "&amp…", "&l…", "&lt…", "&g…", "&gt…"):
            assert not payload.endswith(broken)


def test_fallback_text_never_ends_inside_an_entity() -> None:
    for pad in range(3890, 3900):
        text = blocks.fallback_mrkdwn("y" * pad + "&amp;" * 10)
        assert len(text) <= 3900 and text.endswith("…")
        assert text[:-1].endswith(("y", "&amp;"))


def test_cutting_mrkdwn_never_leaves_half_a_mention() -> None:
    assert blocks.cut_mrkdwn("hi <@U123456> there", 9) == "hi…"
    assert blocks.cut_mrkdwn("hi <@U1> there", 10) == "hi <@U1>…"


def test_articles() -> None:
    assert [blocks.with_article(k) for k in ("call", "email", "meeting", "visit", "note")] == [
        "a call",
        "an email",
        "a meeting",
        "a visit",
        "a note",
    ]
    assert blocks.with_article("update") == "an update"


# ------------------------------------------------------------------ pick lists carrying an action


def test_pick_list_with_a_pending_action_carries_it_on_every_button() -> None:
    pending = {"do": "log", "kind": "email", "note": "sent <the> quote & more"}
    message = blocks.pick_list(
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
    assert all(blocks.PICK_ACCOUNT_ACTION.match(action_id) for action_id, _ in values)
    assert "Choose one and I'll log an email on it." in block_texts(message["blocks"])
    assert blocks.PICK_ACCOUNT in blocks.ACTION_IDS


def test_pick_list_without_an_action_shows_the_card() -> None:
    message = blocks.pick_list("acme", [(1, "Acme Corp"), (2, "Acme Labs")], ambiguous=True)
    # Slack refuses a block whose buttons share an action_id: one id per account.
    assert [b["action_id"] for b in buttons(message["blocks"])] == [
        "account_show:1",
        "account_show:2",
    ]
    assert all(blocks.SHOW_ACCOUNT_ACTION.match(b["action_id"]) for b in buttons(message["blocks"]))
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
    message = blocks.pick_list("zz", [(3, "Zeta")], ambiguous=False, pending=pending)
    assert f"Choose one and I'll {says}." in block_texts(message["blocks"])
    value = json.loads(buttons(message["blocks"])[0]["value"])
    assert value == {"id": 3, **{k: v for k, v in pending.items() if v is not None}}


def test_pick_list_tells_the_full_count_when_it_shows_only_some() -> None:
    message = blocks.pick_list(
        "initech", [(n, f"Initech {n}") for n in range(8)], ambiguous=True, total=1234
    )
    assert message["text"] == (
        "“initech” matches 1,234 accounts; here are the first 8. "
        "Type more of the name or the CRM id to narrow it down."
    )
    assert len(buttons(message["blocks"])) == 8
    few = blocks.pick_list("acme", [(1, "A"), (2, "B")], ambiguous=True, total=2)
    assert few["text"] == "“acme” matches 2 accounts. Which one did you mean?"


def test_pick_list_quotes_a_long_query_briefly() -> None:
    message = blocks.pick_list(
        "&" * 5000, [(1, "A"), (2, "B")], ambiguous=True, pending={"do": "plan"}
    )
    assert_within_limits(message["blocks"])
    assert len(message["text"]) < 800


@pytest.mark.parametrize("unit", ["x", "é", "🎉", '"', "\n", "\u0001", "<&>"])
def test_pick_values_fit_slack_however_long_the_note(unit: str) -> None:
    note = unit * 2000
    value = blocks.pick_value(7, {"do": "log", "kind": "call", "note": note})
    assert len(value.encode("utf-16-le")) // 2 <= 2000
    decoded = blocks.read_pick_value(value)
    assert decoded["id"] == 7 and decoded["do"] == "log" and decoded["cut"] == 1
    assert decoded["note"].endswith("…")
    assert note.startswith(decoded["note"][:-1])
    assert len(decoded["note"]) > 200  # most of it survives


def test_short_pick_values_are_kept_whole() -> None:
    value = blocks.pick_value(7, {"do": "snooze", "until": "2026-07-01", "reason": "on leave"})
    assert value == '{"id":7,"do":"snooze","until":"2026-07-01","reason":"on leave"}'
    assert blocks.read_pick_value(value)["reason"] == "on leave"


@pytest.mark.parametrize("raw", [None, "", "7", "not json", "[1]", '{"id": "7"}', '{"do": "log"}'])
def test_read_pick_value_refuses_what_is_not_a_pick(raw) -> None:
    assert blocks.read_pick_value(raw) == {}


# ------------------------------------------------------------------ wording and numbers


def test_every_list_filter_has_an_empty_message() -> None:
    from bot.retention.book import LIST_FILTERS

    assert set(blocks.EMPTY_LISTS) == set(LIST_FILTERS)
    for which in LIST_FILTERS:
        message = blocks.account_list(which, [])
        text = "\n".join(block_texts(message["blocks"]))
        assert blocks.EMPTY_LISTS[which] in text
        assert "No accounts are" not in text
    at_risk = "\n".join(block_texts(blocks.account_list("at-risk", [])["blocks"]))
    assert "Nothing is at risk right now (health under 50). 🎉" in at_risk


def test_large_numbers_have_thousands_separators() -> None:
    summary = BookSummary(1704, 1012, 1308, 1500, 1100, 1001, 1234)
    book = blocks.book(summary, [], rep_label="Ana")
    text = "\n".join(block_texts(book["blocks"]))
    assert book["text"] == "Ana: 1,704 accounts, 1,308 overdue"
    for shown in ("*Due today*\n1,012", "*Overdue*\n1,308", "*At risk*\n1,100"):
        assert shown in text
    listed = blocks.account_list("all", [entry(1)] * 1704)
    listed_text = "\n".join(block_texts(listed["blocks"]))
    assert "All: 1,704 accounts" in listed_text and "…and 1,689 more" in listed_text
    group = CustomerGroup("Best", 1, 1.0, 2.0, TODAY, TODAY, TODAY, 1200)
    report = RecencyReport(TODAY, 100_000, 1, 47_488, 1, 0, 0, group, group, group)
    recency = blocks.recency_report(report)
    assert recency["text"].startswith("Recency report: 47,488 of 100,000 accounts")
    assert "(1,200 days ago)" in "\n".join(block_texts(recency["blocks"]))
    header = blocks.reminder_header(count=1500, more=2500, rep_name="Ana")
    assert "1,500 accounts need you today (2,500 more due" in header["text"]
    many = blocks.finish([blocks.section(str(n)) for n in range(1100)])
    assert many[-1]["elements"][0]["text"] == "…and 1,051 more not shown."


def test_a_group_without_orders_does_not_break_the_report() -> None:
    empty = CustomerGroup("Worst", 3, 0.0, 0.0, None, None, None, None)
    group = CustomerGroup("Best", 1, 1.0, 2.0, TODAY, TODAY, TODAY, 10)
    report = RecencyReport(TODAY, 4, 3, 3, 3, 3, 0, group, group, empty)
    text = "\n".join(block_texts(blocks.recency_report(report)["blocks"]))
    assert "*Worst*: 3 accounts, no orders yet" in text


def test_the_card_says_one_day_not_one_days() -> None:
    one = TouchSchedule(
        cadence_days=1,
        cadence_source="tier",
        next_touch_due=date(2026, 6, 14),
        snoozed_until=None,
        days_overdue=1,
    )
    card = blocks.status_card(status(schedule=one))
    text = "\n".join(block_texts(card["blocks"]))
    assert "(1 day overdue)" in text and "every 1 day" in text


# ---------------------------------------------------- formatting and direction (defect 14)

ZWNJ = "\u200c"
# Names an import can carry: mrkdwn formatting, a right-to-left override, zero-width.
TRICKY_NAMES = ["*Acme*", "_x_", "~y~", "`code`", "\u202eevil", "Ac\u200bme\u2060 \ufeffCo"]
INVISIBLE = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068"}
INVISIBLE |= {"\u2069", "\u200e", "\u200f", "\u200b", "\u2060", "\ufeff", "\u061c"}


def assert_inert(payload: dict) -> None:
    """No formatting character can open or close a span, and no direction or zero-width
    character survives, in any text Slack shows (mrkdwn and plain_text alike)."""
    texts = [payload.get("text") or "", *block_texts(payload.get("blocks") or [])]
    for text in texts:
        assert not INVISIBLE & set(text), repr(text)
    for text in mrkdwn_texts(payload):
        for name in TRICKY_NAMES:
            bare = blocks.clean(name)
            assert bare not in text or not any(c in bare for c in "*_~`"), repr(text)


def reads(payload: dict) -> str:
    """The visible text, as a reader sees it."""
    return "\n".join(block_texts(payload.get("blocks") or [])).replace(ZWNJ, "")


@pytest.mark.parametrize("name", TRICKY_NAMES)
def test_formatting_and_direction_characters_are_inert_on_every_surface(name: str) -> None:
    visible = blocks.clean(name)
    assert not INVISIBLE & set(visible) and visible.strip()
    card = blocks.status_card(status(name))
    due = DueAccount(facts(1, name), schedule(), [signal()], health(), 1.0, picks()[0])
    reminder = blocks.reminder_account(due)
    home = home_view(entries=[entry(1, name)], board=[LeaderboardRow("r@x", name, None, 1, 1)])
    pick = blocks.pick_list(name, [(1, name), (2, f"{name} 2")], ambiguous=True)
    for payload in (card, reminder, home, pick):
        assert_inert(payload)
        assert visible in reads(payload)  # the name still reads as itself
        assert_slack_accepts(payload)
    # In mrkdwn the markers are fenced by zero-width non-joiners...
    assert all(f"{ZWNJ}{c}{ZWNJ}" in blocks.escape(name) for c in "*_~`" if c in name)
    # ...and the header and the buttons, plain_text, show the name as typed, minus
    # the characters that would reorder or hide parts of it.
    assert card["blocks"][0]["text"]["text"] == visible
    assert {b["text"]["text"] for b in buttons(pick["blocks"])} == {visible, f"{visible} 2"}


def test_a_right_to_left_override_cannot_make_a_name_read_as_another() -> None:
    spoof = "Acme \u202eCorp"  # shows as "Acme proC" in a bidi-aware client
    assert blocks.clean(spoof) == "Acme Corp"
    assert blocks.escape(spoof) == "Acme Corp"
    # A zero-width joiner inside an emoji sequence is part of the emoji and stays.
    assert blocks.clean("👩\u200d💻 Dev Shop") == "👩\u200d💻 Dev Shop"
    assert blocks.clean("Ac\u200dme") == "Acme"
    # Line and paragraph separators cannot break a name over lines.
    assert blocks.escape("Acme\u2028Corp\u2029Ltd") == "Acme Corp Ltd"


def test_the_card_counts_order_days_writes_credits_with_a_minus_and_the_segment_in_words() -> None:
    card = blocks.status_card(
        status(facts=facts(7, orders_count=12, occasions=9, credit_rows=1, total_value=-4800.0))
    )
    text = "\n".join(block_texts(card["blocks"]))
    assert "12 orders on 9 days (1 credit), −$4,800 in all" in text
    assert "$-" not in text
    assert not re.search(r"\bR\d F\d M\d\b", text)


def test_money_and_dates_read_one_way() -> None:
    assert [blocks.money(v) for v in (-4800, -0.4, 0, 1234.5, None)] == [
        "−$4,800",
        "$0",
        "$0",
        "$1,234",
        "—",
    ]
