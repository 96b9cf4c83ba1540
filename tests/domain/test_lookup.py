"""Forgiving account look-ups: case, accents, punctuation, typos; honest ambiguity."""

from __future__ import annotations

import pytest

from bot.db import Database
from bot.retention.errors import AccountNotFound, AmbiguousAccount, InvalidInput
from bot.retention.lookup import find_account_id
from models import Account
from tests.support import factories as f

NAMES = [
    "Acme Corp",
    "Northwind Traders",
    "Northwind Logistics",
    "Müller & Söhne GmbH",
    "O'Brien Facilities",
    "Café Lumière",
    "Globex Corporation",
    "Initech",
    "Blue Sky Labs",
    "Москва Трейд",
    "東京商事",
    "Øresund Æble ApS",
]


@pytest.fixture
def accounts(db: Database) -> dict[str, int]:
    with db.transaction() as session:
        return {
            name: f.account(session, name=name, external_id=f"CRM-{i}").id
            for i, name in enumerate(NAMES)
        }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Acme Corp", "Acme Corp"),
        ("acme corp", "Acme Corp"),
        ("ACME", "Acme Corp"),
        ("  acme,  corp. ", "Acme Corp"),
        ("muller & sohne", "Müller & Söhne GmbH"),
        ("MÜLLER UND SÖHNE", "Müller & Söhne GmbH"),
        ("obrien facilities", "O'Brien Facilities"),
        ("o'brien", "O'Brien Facilities"),
        ("cafe lumiere", "Café Lumière"),
        ("acme crop", "Acme Corp"),
        ("globx", "Globex Corporation"),
        ("intech", "Initech"),
        ("northwind traders", "Northwind Traders"),
        ("nortwind logistcs", "Northwind Logistics"),
        ("CRM-7", "Initech"),
        ("sky", "Blue Sky Labs"),
        ("москва трейд", "Москва Трейд"),
        ("МОСКВА", "Москва Трейд"),
        ("東京商事", "東京商事"),
        ("oresund aeble", "Øresund Æble ApS"),
        ("Øresund", "Øresund Æble ApS"),
        ("crm-7", "Initech"),
    ],
)
def test_forgiving_matches(db: Database, accounts, query, expected) -> None:
    with db.session() as session:
        assert session.get(Account, find_account_id(session=session, query=query)).name == expected


def test_several_matches_ask_which(db: Database, accounts) -> None:
    with db.session() as session, pytest.raises(AmbiguousAccount) as caught:
        find_account_id(session=session, query="northwind")
    names = [name for _, name in caught.value.candidates]
    assert sorted(names) == ["Northwind Logistics", "Northwind Traders"]
    assert "Which one?" in caught.value.message


def test_same_name_twice_is_told_apart_by_crm_id(db: Database) -> None:
    with db.transaction() as session:
        f.account(session, name="Twin Peaks Ltd", external_id="T-1")
        f.account(session, name="Twin Peaks Ltd", external_id="T-2")
    with db.session() as session, pytest.raises(AmbiguousAccount) as caught:
        find_account_id(session=session, query="twin peaks ltd")
    assert {name for _, name in caught.value.candidates} == {
        "Twin Peaks Ltd (T-1)",
        "Twin Peaks Ltd (T-2)",
    }


def test_nothing_close_gives_did_you_mean(db: Database, accounts) -> None:
    with db.session() as session, pytest.raises(AccountNotFound) as caught:
        find_account_id(session=session, query="Initrode")
    assert "Initech" in caught.value.suggestions
    assert "Did you mean" in caught.value.message


def test_nothing_at_all(db: Database, accounts) -> None:
    with db.session() as session, pytest.raises(AccountNotFound) as caught:
        find_account_id(session=session, query="zzzz qqqq")
    assert caught.value.suggestions == []


def test_empty_query_asks_for_a_name(db: Database, accounts) -> None:
    with db.session() as session, pytest.raises(InvalidInput):
        find_account_id(session=session, query=" -- ")


def test_many_matches_report_the_full_count(db: Database) -> None:
    with db.transaction() as session:
        for n in range(30):
            f.account(session, name=f"Initech Branch {n:02d}")
    with db.session() as session, pytest.raises(AmbiguousAccount) as caught:
        find_account_id(session=session, query="initech")
    assert caught.value.total == 30
    assert len(caught.value.candidates) == 8
    assert "narrow it down" in caught.value.message


def test_matches_say_how_they_were_found(db: Database, accounts) -> None:
    from bot.retention.lookup import find_account_match

    with db.session() as session:
        assert find_account_match(session=session, query="CRM-0").how == "id"
        assert find_account_match(session=session, query="acme corp").how == "name"
        assert find_account_match(session=session, query="acme").how == "prefix"
        assert find_account_match(session=session, query="sky").how == "word"
        assert find_account_match(session=session, query="acme crop").how == "fuzzy"
        assert not find_account_match(session=session, query="acme crop").exact


# --- the name index: built once per change of the names, never stale ---------------------


def _fuzzy(db: Database, query: str) -> int:
    from bot.retention.lookup import find_account_match

    with db.session() as session:
        match = find_account_match(session=session, query=query)
    assert match.how == "fuzzy"
    return match.account_id


def _index(db: Database):
    from bot.retention.name_index import name_index

    with db.session() as session:
        return name_index(session)


def test_a_new_account_is_found_by_a_typo_at_once(db: Database, accounts) -> None:
    before = _index(db)
    with db.transaction() as session:
        new = f.account(session, name="Vandelay Industries").id
    assert _fuzzy(db, "vandelya industries") == new
    assert _index(db) is not before


def test_a_renamed_account_is_found_by_its_new_name_only(db: Database, accounts) -> None:
    acme = accounts["Acme Corp"]
    assert _fuzzy(db, "acme crop") == acme
    with db.transaction() as session:
        row = session.get(Account, acme)
        row.name, row.name_key = "Zephyr Holdings", "zephyr holdings"
    assert _fuzzy(db, "zephir holdings") == acme
    with db.session() as session, pytest.raises(AccountNotFound) as caught:
        find_account_id(session=session, query="acme crop")
    assert "Acme Corp" not in caught.value.suggestions
    with db.session() as session:  # the prefix and word steps read the index too
        assert find_account_id(session=session, query="zephyr") == acme
        assert find_account_id(session=session, query="holdings") == acme


def test_archived_and_deleted_accounts_leave_the_index(db: Database, accounts) -> None:
    from datetime import UTC, datetime

    assert _fuzzy(db, "globx") == accounts["Globex Corporation"]
    with db.transaction() as session:
        session.get(Account, accounts["Globex Corporation"]).archived_at = datetime.now(UTC)
        session.delete(session.get(Account, accounts["Initech"]))
    with db.session() as session:
        for query in ("globx", "intech", "globex"):
            with pytest.raises(AccountNotFound):
                find_account_id(session=session, query=query)
        # Still reachable by its CRM id (exact), not in another case (the index).
        assert find_account_id(session=session, query="CRM-6") == accounts["Globex Corporation"]
        with pytest.raises(AccountNotFound):
            find_account_id(session=session, query="crm-6")


def test_a_crm_id_change_reaches_the_index(db: Database, accounts) -> None:
    assert _index(db) is not None
    with db.transaction() as session:
        session.get(Account, accounts["Initech"]).external_id = "NEW-77"
    with db.session() as session:
        assert find_account_id(session=session, query="new-77") == accounts["Initech"]


def test_other_changes_keep_the_index(db: Database, accounts) -> None:
    from bot.retention.name_index import names_stamp

    first = _index(db)
    with db.session() as session:
        stamp = names_stamp(session)
    assert stamp is not None
    with db.transaction() as session:
        row = session.get(Account, accounts["Initech"])
        row.tier, row.cadence_days = "key", 10
    with db.session() as session:
        assert names_stamp(session) == stamp
    assert _index(db) is first


def test_the_index_matches_what_sql_would_find(db: Database) -> None:
    """The prefix, word and CRM-id steps give what the LIKE queries they replace gave."""
    import random

    import sqlalchemy as sa

    from bot.retention.name_index import name_index

    rng = random.Random(5)
    words = ["acme", "ac", "corp", "nord", "nordwind", "blue", "sky", "skyline", "ab", "oy"]
    with db.transaction() as session:
        for n in range(120):
            name = " ".join(rng.choice(words) for _ in range(rng.randint(1, 4)))
            f.account(session, name=name, external_id=f"Ext-{n}")
    with db.session() as session:
        index = name_index(session)
        live = [tuple(r) for r in session.execute(sa.select(Account.id, Account.name_key))]
        for key in ["acme", "ac", "nord", "sky", "blue sky", "acme co", "oy", "corp acme ac"]:
            ids = {index.ids[p] for p in index.starting_with(key)}
            assert ids == {i for i, k in live if k.startswith(key + " ")}, key
            ids = {index.ids[p] for p in index.with_word_starting(key)}
            assert ids == {i for i, k in live if f" {key}" in k}, key
        assert [index.ids[p] for p in index.with_lower_external_id("EXT-7")] == [
            session.execute(sa.select(Account.id).where(Account.external_id == "Ext-7")).scalar()
        ]


def test_crm_ids_that_differ_only_in_case_are_both_found(db: Database) -> None:
    with db.transaction() as session:
        lower = f.account(session, name="Lower Case Ltd", external_id="ab-1").id
        upper = f.account(session, name="Upper Case Ltd", external_id="AB-1").id
        f.account(session, name="Other Ltd", external_id="AB-2")
    with db.session() as session:
        assert find_account_id(session=session, query="ab-1") == lower  # exact id first
        with pytest.raises(AmbiguousAccount) as caught:
            find_account_id(session=session, query="Ab-1")
        assert {id_ for id_, _ in caught.value.candidates} == {lower, upper}


def test_the_serving_process_rebuilds_the_index_in_the_background(db: Database, accounts) -> None:
    """`rebuy serve` keeps the index ready: after an import changes the names, the first
    typo does not wait for the build."""
    import threading
    import time

    from bot.retention.name_index import index_is_current, keep_warm

    def current() -> bool:
        with db.session() as session:
            return index_is_current(session)

    def wait_until_current() -> bool:
        deadline = time.monotonic() + 10
        while not current():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    assert not current()  # nothing built yet in this test's database
    stop = threading.Event()
    warmer = keep_warm(db.session, stop, every=0.05)
    try:
        assert wait_until_current()  # built at start-up, before any look-up
        with db.transaction() as session:
            new = f.account(session, name="Vandelay Industries").id
        assert wait_until_current()  # rebuilt after the change, with no look-up asking
        assert _fuzzy(db, "vandelya industries") == new
    finally:
        stop.set()
        warmer.join(timeout=5)
    assert not warmer.is_alive()


def test_the_background_refresh_says_an_outage_once(caplog: pytest.LogCaptureFixture) -> None:
    """A database that is down is logged when the refresh first fails, not every cycle."""
    import threading
    import time
    from contextlib import contextmanager

    from bot.retention.name_index import keep_warm

    calls: list[int] = []

    @contextmanager
    def unreachable():
        calls.append(1)
        raise ConnectionError("connection refused")
        yield

    stop = threading.Event()
    with caplog.at_level("INFO", logger="bot.retention.name_index"):
        warmer = keep_warm(unreachable, stop, every=0.01)
        deadline = time.monotonic() + 10
        while len(calls) < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        stop.set()
        warmer.join(timeout=5)
    assert len(calls) >= 5
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == ["could not refresh the account name index: connection refused"]
