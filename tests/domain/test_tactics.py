from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.db import Database
from bot.retention.tactics import (
    FIT_NAMES,
    MAX_WHY,
    SEGMENTS,
    SIGNALS,
    TACTICS_PATH,
    Tactic,
    TacticPick,
    load_tactics,
    rank_tactics,
    recommend_tactics,
    record_exposure,
    segment_fit_name,
    tactic_bank,
)
from models import TacticExposure
from tests.support import factories as f

NOW = f.NOW
SEGMENT_NAMES = (
    "Champions",
    "Loyal",
    "Potential loyalists",
    "New customers",
    "Promising",
    "Need attention",
    "About to sleep",
    "At risk",
    "Can't lose",
    "Hibernating",
    "Lost",
    "No purchases",
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”]?\s+(?=[A-Z\"“])")


def _recommend(session, account_id: int, signals=(), segment=None, **options) -> list[TacticPick]:
    options.setdefault("now", NOW)
    return recommend_tactics(
        session=session, account_id=account_id, signals=list(signals), segment=segment, **options
    )


def _tactic(id: str, fits: tuple[str, ...], effort: str = "low") -> Tactic:
    return Tactic(
        id=id, title=id.title(), how_to="Do it. Well.", fits=fits, effort=effort, channel="call"
    )


# --- the bank ---------------------------------------------------------------


def test_the_bank_loads_with_enough_well_formed_tactics() -> None:
    bank = tactic_bank()
    assert len(bank) >= 28
    for tactic in bank.values():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", tactic.id)
        assert 0 < len(tactic.title) <= 60, tactic.id
        assert 0 < len(tactic.how_to) <= 500, tactic.id
        assert 2 <= len(_SENTENCE_END.split(tactic.how_to)) <= 4, tactic.id
        assert "\n" not in tactic.how_to
        assert tactic.effort in {"low", "medium", "high"}
        assert tactic.channel in {"call", "email", "meeting", "visit", "any"}
        assert set(tactic.fits) <= set(FIT_NAMES)
    assert len({t.title.casefold() for t in bank.values()}) == len(bank)


@pytest.mark.parametrize("name", [*SIGNALS, *SEGMENTS])
def test_every_signal_and_segment_has_at_least_two_tactics(name: str) -> None:
    fitting = [t.id for t in tactic_bank().values() if name in t.fits]
    assert len(fitting) >= 2, f"{name}: {fitting}"


@pytest.mark.parametrize(
    ("tactic_id", "fit"),
    [
        ("bring-second-stakeholder", "single_threaded"),
        ("ask-why-they-buy-less", "declining"),
        ("share-something-useful", "dormant_6m"),
        ("range-sell-adjacent-line", "loyal"),
        ("ask-for-referral", "champions"),
        ("quarterly-business-review", "loyal"),
        ("reorder-reminder-on-rhythm", "off_rhythm"),
        ("executive-sponsor-call", "cant_lose"),
        ("win-back-offer", "dormant_12m"),
    ],
)
def test_the_briefs_tactics_are_in_the_bank_where_they_belong(tactic_id: str, fit: str) -> None:
    assert fit in tactic_bank()[tactic_id].fits


def test_the_default_bank_is_parsed_once_and_handed_out_as_a_copy() -> None:
    first = tactic_bank()
    first.clear()
    assert load_tactics() == tactic_bank() == load_tactics(TACTICS_PATH)
    assert len(tactic_bank()) >= 28


GOOD = {
    "id": "good-one",
    "title": "Do a good thing",
    "how_to": "Call them. Ask a good question.",
    "fits": ["declining"],
    "effort": "low",
    "channel": "call",
}


@pytest.mark.parametrize(
    ("change", "tactic_id", "field"),
    [
        ({"effort": "huge"}, "good-one", "effort"),
        ({"channel": "pigeon"}, "good-one", "channel"),
        ({"fits": ["declining", "bored"]}, "good-one", "fits"),
        ({"fits": []}, "good-one", "fits"),
        ({"fits": ["declining", "declining"]}, "good-one", "fits"),
        ({"how_to": "   "}, "good-one", "how_to"),
        ({"how_to": "Too long. " * 60}, "good-one", "how_to"),
        ({"title": ""}, "good-one", "title"),
        ({"title": "T" * 61}, "good-one", "title"),
        ({"titel": "Typo"}, "good-one", "titel"),
        ({"id": "Not Kebab"}, "Not Kebab", "id"),
        ({"id": None}, "#2", "id"),
    ],
)
def test_bad_tactic_data_is_refused_naming_the_tactic_and_field(
    tmp_path: Path, change: dict, tactic_id: str, field: str
) -> None:
    other = {**GOOD, "id": "other-one"}
    path = tmp_path / "tactics.yaml"
    path.write_text(yaml.safe_dump({"tactics": [other, {**GOOD, **change}]}))
    with pytest.raises(ValueError) as raised:
        load_tactics(path)
    message = str(raised.value)
    assert tactic_id in message and f"'{field}'" in message, message


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "tactics.yaml"
    path.write_text(yaml.safe_dump({"tactics": [GOOD, GOOD]}))
    with pytest.raises(ValueError, match=r"'good-one'.*'id'.*duplicate"):
        load_tactics(path)


@pytest.mark.parametrize("text", ["tactics: []", "- just a list", "tactics: [oops", ""])
def test_a_file_without_tactics_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "tactics.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"tactics\.yaml"):
        load_tactics(path)


def test_a_good_custom_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "tactics.yaml"
    path.write_text(yaml.safe_dump({"tactics": [GOOD]}))
    assert load_tactics(path) == {
        "good-one": Tactic(
            id="good-one",
            title="Do a good thing",
            how_to="Call them. Ask a good question.",
            fits=("declining",),
            effort="low",
            channel="call",
        )
    }


@pytest.mark.parametrize(
    ("display", "expected"),
    [
        ("Can't lose", "cant_lose"),
        ("Can’t Lose", "cant_lose"),
        ("Potential loyalists", "potential_loyalists"),
        ("About to sleep", "about_to_sleep"),
        ("no_purchases", "no_purchases"),
        ("Whales", None),
        ("", None),
        (None, None),
    ],
)
def test_segment_display_names_map_to_fit_names(display: str | None, expected: str | None) -> None:
    assert segment_fit_name(display) == expected


def test_every_segment_display_name_is_recognised() -> None:
    assert {segment_fit_name(name) for name in SEGMENT_NAMES} == set(SEGMENTS)


# --- picking ----------------------------------------------------------------


def test_a_single_threaded_account_gets_a_stakeholder_tactic(db: Database) -> None:
    with db.transaction() as session:
        account = f.account(session)
        picks = _recommend(session, account.id, ["single_threaded"])
    ids = [pick.id for pick in picks]
    assert {"bring-second-stakeholder", "map-buying-group"} & set(ids)
    assert all("contact" in pick.why.lower() for pick in picks)
    assert all("single_threaded" in pick.tactic.fits for pick in picks)


@pytest.mark.parametrize(
    ("signals", "segment", "expected"),
    [
        (["declining"], None, "ask-why-they-buy-less"),
        (["dormant_6m"], None, "share-something-useful"),
        (["off_rhythm"], "Loyal", "reorder-reminder-on-rhythm"),
        ([], "Champions", "ask-for-referral"),
        ([], "Loyal", "range-sell-adjacent-line"),
        (["dormant_18m"], "Lost", "reintroduce-to-current-team"),
        ([], "No purchases", "discovery-call"),
    ],
)
def test_picks_fit_the_accounts_signals(
    db: Database, signals: list[str], segment: str | None, expected: str
) -> None:
    with db.transaction() as session:
        account = f.account(session)
        picks = _recommend(session, account.id, signals, segment)
    wanted = set(signals) | {segment_fit_name(segment)}
    assert expected in [pick.id for pick in picks]
    assert all(wanted & set(pick.tactic.fits) for pick in picks)


def test_whys_name_both_reasons_when_a_tactic_answers_two(db: Database) -> None:
    with db.transaction() as session:
        account = f.account(session)
        picks = _recommend(session, account.id, ["declining", "single_threaded"], "At risk")
    assert picks[0].id == "ask-why-they-buy-less"
    assert picks[0].why.startswith("Declining and at risk:")
    assert len({pick.why for pick in picks}) == len(picks)
    assert any(pick.reasons == ("single_threaded", "declining") for pick in picks)


def test_an_account_without_signals_still_gets_warm_keeping_tactics(db: Database) -> None:
    with db.transaction() as session:
        account = f.account(session)
        picks = _recommend(session, account.id)
        odd = _recommend(session, account.id, ["made_up_signal"], "Whales")
    assert len(picks) == 3
    assert all("no_signals" in pick.tactic.fits for pick in picks)
    assert [p.id for p in odd] == [p.id for p in picks]


def test_limit_is_respected(db: Database) -> None:
    with db.transaction() as session:
        account = f.account(session)
        for limit in (1, 2, 3, 5):
            picks = _recommend(session, account.id, ["declining"], "At risk", limit=limit)
            assert len(picks) == limit
            assert len({pick.id for pick in picks}) == limit
        with pytest.raises(ValueError, match="limit"):
            _recommend(session, account.id, ["declining"], limit=0)


def test_picks_are_deterministic(db: Database) -> None:
    signals = ["dormant_12m", "single_threaded", "no_plan"]
    with db.transaction() as session:
        account = f.account(session)
        first = _recommend(session, account.id, signals, "Can't lose")
        again = _recommend(session, account.id, list(reversed(signals)), "Can’t lose")
    assert first == again


def test_picks_stay_varied_when_another_reason_is_available() -> None:
    bank = [
        _tactic("a-declining", ("declining",)),
        _tactic("b-declining", ("declining",)),
        _tactic("c-contacts", ("single_threaded",), effort="high"),
    ]
    picks = rank_tactics(
        bank, signals=["declining", "single_threaded"], segment=None, now=NOW, limit=2
    )
    assert [pick.id for pick in picks] == ["a-declining", "c-contacts"]
    # With nothing else to offer, the same reason may repeat, worded differently.
    picks = rank_tactics(bank, signals=["declining"], segment=None, now=NOW, limit=2)
    assert [pick.id for pick in picks] == ["a-declining", "b-declining"]
    assert picks[0].why != picks[1].why


def test_too_few_fitting_tactics_are_topped_up_with_warm_keeping_ones() -> None:
    bank = [
        _tactic("a-declining", ("declining",)),
        _tactic("b-other", ("lost",)),
        _tactic("c-warm", ("no_signals",), effort="high"),
    ]
    picks = rank_tactics(bank, signals=["declining"], segment=None, now=NOW, limit=3)
    assert [pick.id for pick in picks] == ["a-declining", "c-warm", "b-other"]
    assert picks[1].reasons == ()
    assert "warm" in picks[1].why


# --- rotation ---------------------------------------------------------------


def test_recording_rotates_through_the_tactics_day_by_day(db: Database) -> None:
    days = [NOW, NOW + timedelta(days=1), NOW + timedelta(days=2)]
    with db.transaction() as session:
        account = f.account(session)
        rounds = [
            _recommend(
                session,
                account.id,
                ["declining", "single_threaded"],
                "At risk",
                record="card",
                now=day,
            )
            for day in days
        ]
    firsts = [picks[0].id for picks in rounds]
    assert all(a != b for a, b in pairwise(firsts))
    shown = {pick.id for picks in rounds for pick in picks}
    assert len(shown) == 9
    with db.session() as session:
        rows = session.exec(select(TacticExposure)).all()
    assert len(rows) == 9
    assert {row.surface for row in rows} == {"card"}
    assert {row.account_id for row in rows} == {account.id}
    assert {row.shown_at for row in rows} == set(days)


def test_rotation_also_works_across_days_and_is_per_account(db: Database) -> None:
    with db.transaction() as session:
        account = f.account(session)
        other = f.account(session)
        seen: list[str] = []
        for day in range(4):
            picks = _recommend(
                session,
                account.id,
                ["single_threaded"],
                now=NOW + timedelta(days=day),
                limit=2,
                record="reminder",
            )
            seen.extend(pick.id for pick in picks)
        untouched = _recommend(session, other.id, ["single_threaded"], limit=2)
    assert len(set(seen[:6])) == 6  # six single-threaded tactics before any repeats
    assert [p.id for p in untouched] == seen[:2]


def test_a_tactic_used_in_a_touch_is_pushed_down(db: Database) -> None:
    with db.transaction() as session:
        account = f.account(session)
        before = _recommend(session, account.id, ["declining"])
        f.touch(session, account, NOW.date() - timedelta(days=3), tactic_id=before[0].id)
        after = _recommend(session, account.id, ["declining"])
    assert before[0].id not in [pick.id for pick in after]


def test_exposures_older_than_the_rotation_window_do_not_count(db: Database) -> None:
    with db.transaction() as session:
        account = f.account(session)
        top = _recommend(session, account.id, ["declining"])[0].id
        record_exposure(
            session=session,
            account_id=account.id,
            tactic_ids=[top],
            now=NOW - timedelta(days=31),
            surface="card",
        )
        assert _recommend(session, account.id, ["declining"])[0].id == top
        longer = _recommend(session, account.id, ["declining"], rotation_days=60)
        assert top not in [pick.id for pick in longer]
        assert _recommend(session, account.id, ["declining"], rotation_days=0)[0].id == top


def test_when_everything_was_seen_the_least_recently_seen_come_back(db: Database) -> None:
    bank = {t.id: t for t in (_tactic(name, ("declining",)) for name in ("a-one", "b-two", "c-3"))}
    with db.transaction() as session:
        account = f.account(session)
        for tactic_id, days_ago in (("a-one", 1), ("b-two", 20), ("c-3", 10)):
            record_exposure(
                session=session,
                account_id=account.id,
                tactic_ids=[tactic_id],
                now=NOW - timedelta(days=days_ago),
                surface="card",
            )
        picks = _recommend(session, account.id, ["declining"], bank=bank, limit=2)
    assert [pick.id for pick in picks] == ["b-two", "c-3"]


def test_picks_are_never_empty_even_when_all_were_just_seen(db: Database) -> None:
    with db.transaction() as session:
        account = f.account(session)
        record_exposure(
            session=session,
            account_id=account.id,
            tactic_ids=list(tactic_bank()),
            now=NOW,
            surface="card",
        )
        picks = _recommend(session, account.id, ["dormant_18m"], "Lost", record="card")
    assert len(picks) == 3


def test_recorded_exposures_survive_the_callers_commit(db: Database) -> None:
    with db.transaction() as session:
        account = f.account(session)
        account_id = account.id
    with db.transaction() as session:
        picks = _recommend(session, account_id, ["no_plan"], record="reminder", limit=2)
    with db.session() as session:
        stored = session.exec(select(TacticExposure.tactic_id)).all()
    assert sorted(stored) == sorted(pick.id for pick in picks)


def test_naive_times_and_bad_surfaces_are_refused(db: Database) -> None:
    with db.transaction() as session:
        account = f.account(session)
        with pytest.raises(ValueError, match="naive"):
            _recommend(session, account.id, now=datetime(2026, 6, 15))
        with pytest.raises(ValueError, match="surface"):
            record_exposure(
                session=session, account_id=account.id, tactic_ids=["x"], now=NOW, surface=""
            )


def test_a_pick_serialises_for_the_card() -> None:
    pick = rank_tactics(tactic_bank().values(), signals=["declining"], segment=None, now=NOW)[0]
    assert pick.to_dict() == {
        "id": pick.id,
        "title": pick.title,
        "why": pick.why,
        "how_to": pick.tactic.how_to,
        "effort": pick.tactic.effort,
        "channel": pick.tactic.channel,
    }


# --- properties (no database: the ranking alone, with no history) -----------

BANK = tactic_bank()


@settings(max_examples=300, deadline=None)
@given(
    signals=st.lists(st.sampled_from(SIGNALS), unique=True),
    segment=st.none() | st.sampled_from(SEGMENT_NAMES),
    limit=st.integers(min_value=1, max_value=3),
)
def test_any_account_gets_between_one_and_limit_distinct_explained_picks(
    signals: list[str], segment: str | None, limit: int
) -> None:
    picks = rank_tactics(BANK.values(), signals=signals, segment=segment, now=NOW, limit=limit)
    assert 1 <= len(picks) <= limit
    assert len({pick.id for pick in picks}) == len(picks)
    assert len({pick.why for pick in picks}) == len(picks)
    for pick in picks:
        assert pick.why.strip() and len(pick.why) <= MAX_WHY
        assert set(pick.reasons) <= set(signals) | {segment_fit_name(segment), "no_signals"}


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"requires": ["is_happy"]}, "requires", "unknown premise 'is_happy'"),
        ({"requires": "one_contact"}, "requires", "list"),
        ({"why": "They spent {nonsense}."}, "why", "unknown placeholder {nonsense}"),
        # Names the bank knows, written so that they could never be filled in: each one
        # would break the card of the first account this tactic is picked for.
        ({"why": "On {occasions:d} days."}, "why", "cannot be filled in"),
        ({"why": "Bought {} times."}, "why", "cannot be filled in"),
        ({"why": "Spent {last_6m!z}."}, "why", "cannot be filled in"),
        ({"why": "On {occasions:{drop}} days."}, "why", "cannot be filled in"),
        ({"why": "W" * 201}, "why", "limit is 200"),
        ({"fits": "declining"}, "fits", "list"),
        ({"title": 7}, "title", "string"),
    ],
)
def test_bad_requires_why_and_types_are_refused_in_plain_words(
    tmp_path: Path, change: dict, field: str, words: str
) -> None:
    path = tmp_path / "tactics.yaml"
    path.write_text(yaml.safe_dump({"tactics": [{**GOOD, **change}]}))
    with pytest.raises(ValueError) as raised:
        load_tactics(path)
    message = str(raised.value)
    assert message.startswith("tactics.yaml: tactic 'good-one': field "), message
    assert f"'{field}'" in message and words in message, message


def test_the_tactic_type_imports_no_database_code() -> None:
    # The Block Kit layer renders Tactic and TacticPick and must not pull in the database.
    code = (
        "import sys\n"
        "from bot.retention.tactics import Tactic, TacticPick\n"
        "from bot.retention.tactics.tactic import Tactic\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'sqlmodel', 'models')"
        " or m == 'bot.db']\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""


def test_every_public_name_of_the_package_is_importable() -> None:
    import bot.retention.tactics as package

    for name in package.__all__:
        assert getattr(package, name) is not None, name
    with pytest.raises(AttributeError):
        package.no_such_name  # noqa: B018


def test_a_script_that_says_less_than_half_is_only_offered_when_it_is_true() -> None:
    """A "how" script quotes what the rep should say; a figure in it must hold for every
    account the tactic is offered to (declining: net spend, credits included, under half
    of the 6 months before; so the script speaks of spend, not of what was bought)."""
    halves = [t for t in BANK.values() if "half" in t.how_to]
    assert [t.id for t in halves] == ["ask-why-they-buy-less"]
    for tactic in halves:
        assert "spend with us is less than half" in " ".join(tactic.how_to.split())
        assert {"declining", "still_buying"} <= set(tactic.requires)
