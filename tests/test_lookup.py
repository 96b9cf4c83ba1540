"""Forgiving account look-ups: case, accents, punctuation, typos; honest ambiguity."""

from __future__ import annotations

import pytest

from bot.db import Database
from bot.retention.errors import AccountNotFound, AmbiguousAccount, InvalidInput
from bot.retention.lookup import find_account_id
from models import Account
from tests import factories as f

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
