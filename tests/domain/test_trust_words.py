"""The words a rep types and reads: when a touch happened, the one table of touch kinds,
and dates written one way for people."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.crm import sql as sql_source
from bot.retention.dates import day_label, moment_label, near_day_label
from bot.retention.errors import InvalidInput
from bot.retention.reactions import REACTION_KINDS
from bot.retention.touch_kinds import KIND_ALIASES, parse_touch_kind, touch_kind
from bot.retention.when import MAX_DAYS_BACK, read_when
from models import TOUCH_KINDS

THURSDAY = date(2026, 12, 3)


def day_of(text: str, today: date = THURSDAY) -> date | None:
    when = read_when(text.split(), today=today)
    return when.day if when else None


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("today", THURSDAY),
        ("yesterday", date(2026, 12, 2)),
        ("3 days ago", date(2026, 11, 30)),
        ("two weeks ago", date(2026, 11, 19)),
        ("a month ago", date(2026, 11, 3)),
        ("mon", date(2026, 11, 30)),
        ("Monday", date(2026, 11, 30)),
        ("last wed", date(2026, 12, 2)),
        ("thu", date(2026, 11, 26)),  # today's weekday: the one a week ago, never today
        ("on 1 dec", date(2026, 12, 1)),
        ("dec 1st", date(2026, 12, 1)),
        ("4 dec", date(2025, 12, 4)),  # no year and not yet this year: last year's
        ("4 December 2025", date(2025, 12, 4)),
        ("2025-02-28", date(2025, 2, 28)),
    ],
)
def test_a_when_is_the_most_recent_past_day_it_names(text: str, day: date) -> None:
    assert day_of(text) == day


@pytest.mark.parametrize(
    "text", ["talked about pricing", "on the phone", "3 quotes", "", "dec", "² days ago"]
)
def test_words_that_are_no_day_are_left_for_the_note(text: str) -> None:
    assert day_of(text) is None


def test_how_many_words_a_when_takes() -> None:
    assert read_when(["2", "days", "ago", "sent", "samples"], today=THURSDAY).words == 3
    assert read_when(["on", "1", "Dec", "2026", "visit"], today=THURSDAY).words == 4
    assert read_when(["last", "friday", "with", "Tom"], today=THURSDAY).words == 2


def test_the_history_limit_is_two_years_to_the_day() -> None:
    oldest = date(2024, 12, 3)
    assert (THURSDAY - oldest).days == MAX_DAYS_BACK
    assert day_of("2024-12-03") == oldest
    with pytest.raises(InvalidInput, match="up to two years back"):
        day_of("2024-12-02")


@pytest.mark.parametrize("text", ["tomorrow-ish 2026-12-04", "2026-12-04", "4 Dec 2026", "5/12"])
def test_future_and_two_way_dates_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        day_of(text.removeprefix("tomorrow-ish "))
    assert "2026-12-04" not in refused.value.message


def test_the_rep_s_own_today_decides() -> None:
    # 14:00 UTC on 15 Jun is already 16 Jun in Kiritimati: "yesterday" is the 15th there.
    assert day_of("yesterday", today=date(2026, 6, 16)) == date(2026, 6, 15)
    assert day_of("2026-06-16", today=date(2026, 6, 16)) == date(2026, 6, 16)


# ------------------------------------------------------------------ one table of touch kinds


@pytest.mark.parametrize(
    ("word", "kind"),
    [
        ("other", "note"),
        ("Other", "note"),
        ("Logged call", "call"),
        ("E-mail", "email"),
        ("emailed", "email"),
        ("met", "meeting"),
        ("Site visit", "visit"),
        ("CALL", "call"),  # HubSpot task type
        ("calls", "call"),  # HubSpot engagement object
        ("telephone_receiver", "call"),  # a reaction
    ],
)
def test_every_source_reads_kinds_through_one_table(word: str, kind: str) -> None:
    assert touch_kind(word) == kind


def test_the_table_covers_every_kind_and_only_them() -> None:
    assert set(KIND_ALIASES.values()) == set(TOUCH_KINDS)
    assert parse_touch_kind(None) == "note"
    with pytest.raises(InvalidInput, match="call, email, meeting, visit or other"):
        parse_touch_kind("fax")


def test_reactions_and_the_sql_source_use_the_table() -> None:
    for reaction, kind in REACTION_KINDS.items():
        assert kind == ("snooze" if reaction == "zzz" else touch_kind(reaction))
    assert sql_source._convert("kind", "Other", "activity_type") == "note"
    assert sql_source._convert("kind", "Phone", "activity_type") == "call"


# ------------------------------------------------------------------ dates for people


def test_dates_are_written_one_way() -> None:
    assert day_label(date(2025, 12, 3)) == "3 Dec 2025"
    assert day_label(date(2026, 12, 1), year=False, weekday=True) == "Tue 1 Dec"
    assert near_day_label(date(2026, 12, 1), today=THURSDAY) == "Tue 1 Dec"
    assert near_day_label(date(2025, 12, 4), today=THURSDAY) == "4 Dec 2025"
    assert moment_label(datetime(2026, 6, 15, 14, 5, tzinfo=UTC)) == "15 Jun 2026, 14:05 UTC"
