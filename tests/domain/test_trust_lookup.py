"""Look-ups never silently open the wrong account: a suite of tricky names."""

from __future__ import annotations

import pytest

from bot.db import Database
from bot.retention.errors import AccountNotFound, AmbiguousAccount
from bot.retention.lookup import find_account_match
from tests.support import factories as f

NAMES = [
    "Lakeside Physiotherapy",
    "ООО Москва Трейд",
    "ООО Москва Логистик",
    "Report Print Co",
    "Help Desk Supplies",
    "Plan B Logistics",
    "Acme Corp",
    "Acme Corporation",
    "Northwind Traders",
    "Northwind Trading",
    "Café Müller",
]


@pytest.fixture
def ids(db: Database) -> dict[str, int]:
    with db.transaction() as session:
        return {name: f.account(session, name=name).id for name in NAMES}


def _find(db: Database, query: str):
    with db.session() as session:
        return find_account_match(session=session, query=query)


@pytest.mark.parametrize(
    ("query", "name", "exact"),
    [
        ("report print co", "Report Print Co", True),
        ("help desk supplies", "Help Desk Supplies", True),
        ("plan b logistics", "Plan B Logistics", True),
        ("acme corp", "Acme Corp", True),
        ("cafe muller", "Café Müller", True),
        ("lakeside physiotherapi", "Lakeside Physiotherapy", False),
    ],
)
def test_clear_matches_open_and_say_how(db, ids, query, name, exact) -> None:
    match = _find(db, query)
    assert match.account_id == ids[name]
    assert match.exact is exact


@pytest.mark.parametrize(
    ("query", "choices"),
    [
        ("москва трэйд", {"ООО Москва Трейд", "ООО Москва Логистик"}),
        ("moskva", None),
        ("northwind tradrs", {"Northwind Traders", "Northwind Trading"}),
        ("acme", {"Acme Corp", "Acme Corporation"}),
    ],
)
def test_unclear_matches_offer_a_choice(db, ids, query, choices) -> None:
    if choices is None:  # another script's spelling of a word: nothing is opened
        with pytest.raises((AccountNotFound, AmbiguousAccount)):
            _find(db, query)
        return
    with pytest.raises(AmbiguousAccount) as error:
        _find(db, query)
    assert choices <= set(error.value.suggestions)


@pytest.mark.parametrize("query", ["the", "phys", "ist", "co"])
def test_letters_inside_a_word_never_open_an_account(db, ids, query) -> None:
    try:
        match = _find(db, query)
    except (AccountNotFound, AmbiguousAccount):
        return
    # Only a whole word or the start of a word may open one, never letters inside a word.
    with db.session() as session:
        from models import Account

        name = session.get(Account, match.account_id).name_key
    assert any(word.startswith(query) for word in name.split()), (query, name)
