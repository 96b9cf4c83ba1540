"""The escape-and-limits kit: data is escaped once and made inert, text is cut to Slack's
limits without breaking an entity or a mention, messages are capped with "…and N more"."""

from __future__ import annotations

import pytest

from bot.messages.book import account_list, book
from bot.messages.card import status_card
from bot.messages.help import help_message
from bot.messages.kit import (
    clean,
    context,
    cut,
    cut_mrkdwn,
    escape,
    escape_message,
    fallback_mrkdwn,
    finish,
    finish_dicts,
    notice,
    section,
)
from bot.messages.pick import pick_list
from bot.messages.reminder import all_caught_up, greeting, reminder_account, reminder_header
from bot.retention.results import (
    BookSummary,
    DueAccount,
    LeaderboardRow,
)
from tests.messages.samples import (
    ESCAPED,
    EVIL,
    assert_escaped,
    assert_slack_accepts,
    assert_within_limits,
    entry,
    facts,
    health,
    home_view,
    picks,
    schedule,
    signal,
    status,
)
from tests.support.slack_app import block_texts, buttons, mrkdwn_texts


def test_escape_covers_the_three_characters_slack_parses() -> None:
    assert escape(EVIL) == ESCAPED
    assert escape("a&amp;b") == "a&amp;amp;b"  # data is data, even if it looks escaped
    assert escape(42) == "42"


def test_a_refusal_keeps_its_code_spans_and_its_users_words_stay_inert() -> None:
    typed = "<!channel> *now* & ~later~"
    said = escape_message(
        f"“{typed}” is not a snooze length: use e.g. `1w` or `/account snooze acme 2w`."
    )
    assert said == (
        f"“{escape(typed)}” is not a snooze length: use e.g. `1w` or `/account snooze acme 2w`."
    )
    assert "<!" not in said and "`1w`" in said
    # Inside code only <, > and & are escaped: Slack shows the rest as typed.
    assert escape_message("Use `/account owner <name> a&b`") == (
        "Use `/account owner &lt;name&gt; a&amp;b`"
    )
    # An unpaired backtick (the user typed one): nothing is code, everything inert.
    assert escape_message("“x`y” is no length, e.g. `2w`") == escape(
        "“x`y” is no length, e.g. `2w`"
    )
    assert escape_message("No \u202eexe.live here") == escape("No \u202eexe.live here")


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(lambda: pick_list(EVIL, [(1, EVIL), (2, EVIL)], ambiguous=True), id="pick"),
        pytest.param(lambda: pick_list(EVIL, [(1, EVIL)], ambiguous=False), id="mean"),
        pytest.param(lambda: pick_list(EVIL, [], ambiguous=False), id="none"),
        pytest.param(
            lambda: book(BookSummary(1, 1, 1, 1, 1, 1, 1), [entry(1, EVIL)], rep_label=EVIL),
            id="book",
        ),
        pytest.param(lambda: account_list("overdue", [entry(1, EVIL, EVIL)]), id="list"),
        pytest.param(lambda: help_message(escape(EVIL)), id="help"),
        pytest.param(lambda: notice(escape(EVIL)), id="notice"),
        pytest.param(
            lambda: reminder_header(
                count=2, more=3, hello=greeting(EVIL, None), covering=[EVIL, EVIL]
            ),
            id="header",
        ),
        pytest.param(lambda: all_caught_up(greeting(EVIL, None)), id="caught-up"),
        pytest.param(
            lambda: reminder_account(
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


def test_finish_caps_blocks_and_says_how_many_were_left_out() -> None:
    many = [section(f"line {n}") for n in range(60)]
    out = finish(many)
    assert len(out) == 50
    assert out[48]["text"]["text"] == "line 48"
    assert out[-1]["elements"][0]["text"] == "…and 11 more not shown."
    raw = [b.to_dict() for b in many]
    kept = finish_dicts(raw)
    assert len(kept) == 50 and kept[-1]["elements"][0]["text"] == "…and 11 more."


def test_cut_adds_an_ellipsis_only_when_it_cuts() -> None:
    assert cut("short", 10) == "short"
    assert cut("x" * 20, 10) == "x" * 9 + "…"


def test_cutting_escaped_text_never_leaves_half_an_entity() -> None:
    assert cut_mrkdwn("a&amp;b", 4) == "a…"
    assert cut_mrkdwn("ab&lt;cd", 7) == "ab&lt;…"
    assert cut_mrkdwn("abc", 3) == "abc"


@pytest.mark.parametrize("pad", range(2990, 3000))
def test_sections_never_end_inside_an_entity(pad: int) -> None:
    text = "x" * pad + escape("&&&<<>>" * 10)
    for payload in (
        section(text).to_dict()["text"]["text"],
        context(text).to_dict()["elements"][0]["text"],
        notice(text)["blocks"][0]["text"]["text"],
    ):
        assert len(payload) <= 3000
        assert payload.endswith("…")
        tail = payload[:-1]
        assert tail[tail.rfind("&") :].endswith(";") or "&" not in tail[-6:]
        for broken in ("&a…", "&am…", "&amp…", "&l…", "&lt…", "&g…", "&gt…"):
            assert not payload.endswith(broken)


def test_fallback_text_never_ends_inside_an_entity() -> None:
    for pad in range(3890, 3900):
        text = fallback_mrkdwn("y" * pad + "&amp;" * 10)
        assert len(text) <= 3900 and text.endswith("…")
        assert text[:-1].endswith(("y", "&amp;"))


def test_cutting_mrkdwn_never_leaves_half_a_mention() -> None:
    assert cut_mrkdwn("hi <@U123456> there", 9) == "hi…"
    assert cut_mrkdwn("hi <@U1> there", 10) == "hi <@U1>…"


ZWNJ = "\u200c"


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
            bare = clean(name)
            assert bare not in text or not any(c in bare for c in "*_~`"), repr(text)


def reads(payload: dict) -> str:
    """The visible text, as a reader sees it."""
    return "\n".join(block_texts(payload.get("blocks") or [])).replace(ZWNJ, "")


@pytest.mark.parametrize("name", TRICKY_NAMES)
def test_formatting_and_direction_characters_are_inert_on_every_surface(name: str) -> None:
    visible = clean(name)
    assert not INVISIBLE & set(visible) and visible.strip()
    card = status_card(status(name))
    due = DueAccount(facts(1, name), schedule(), [signal()], health(), 1.0, picks()[0])
    reminder = reminder_account(due)
    home = home_view(entries=[entry(1, name)], board=[LeaderboardRow("r@x", name, None, 1, 1)])
    pick = pick_list(name, [(1, name), (2, f"{name} 2")], ambiguous=True)
    for payload in (card, reminder, home, pick):
        assert_inert(payload)
        assert visible in reads(payload)  # the name still reads as itself
        assert_slack_accepts(payload)
    # In mrkdwn the markers are fenced by zero-width non-joiners...
    assert all(f"{ZWNJ}{c}{ZWNJ}" in escape(name) for c in "*_~`" if c in name)
    # ...and the header and the buttons, plain_text, show the name as typed, minus
    # the characters that would reorder or hide parts of it.
    assert card["blocks"][0]["text"]["text"] == visible
    assert {b["text"]["text"] for b in buttons(pick["blocks"])} == {visible, f"{visible} 2"}


def test_a_right_to_left_override_cannot_make_a_name_read_as_another() -> None:
    spoof = "Acme \u202eCorp"  # shows as "Acme proC" in a bidi-aware client
    assert clean(spoof) == "Acme Corp"
    assert escape(spoof) == "Acme Corp"
    # A zero-width joiner inside an emoji sequence is part of the emoji and stays.
    assert clean("👩\u200d💻 Dev Shop") == "👩\u200d💻 Dev Shop"
    assert clean("Ac\u200dme") == "Acme"
    # Line and paragraph separators cannot break a name over lines.
    assert escape("Acme\u2028Corp\u2029Ltd") == "Acme Corp Ltd"
