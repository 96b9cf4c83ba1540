"""The lean path (bot/cli/lean.py) answers exactly as the Typer app does: the same
output, errors and exit codes for `rebuy report` and `rebuy account`, on SQLite and
PostgreSQL; and it leaves to Typer everything it does not recognise."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.cli import lean
from bot.db import Database
from tests.support import factories as f
from tests.support.cli import NOW, run


@pytest.fixture
def book(db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """Accounts for every way a name is found or not: owners, orders, credits, touches,
    contacts, a plan, look-alike names, duplicates and an archived account."""
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("REBUY_NOW", NOW)
    with db.transaction() as session:
        ana = f.rep(session, email="ana@example.com", name="Ana Ruiz", slack_user_id="UANA")
        acme = f.account(
            session, "Acme Corp", external_id="CRM-1", owner_id=ana.id, annual_value=50000
        )
        f.order(session, acme, "2025-09-01", 3000)
        f.order(session, acme, "2026-05-20", 1000)
        f.order(session, acme, "2026-05-20", 250)
        f.order(session, acme, "2026-05-28", -120)
        f.contact(session, acme, "Jo Buyer", title="Buyer")
        f.touch(session, acme, "2026-05-01", "call", rep_id=ana.id, note="asked about Q3")
        f.plan(session, acme, ["second_stakeholder"])
        harbor = f.account(session, "Harbor Supply", external_id="CRM-2", tier="small")
        for day in ("2024-02-01", "2024-06-01", "2024-10-01", "2025-02-01"):
            f.order(session, harbor, day, 800)
        f.account(session, "Harbor Logistics", external_id="CRM-3")
        f.account(session, "Northwind Traders", external_id="CRM-4")
        f.account(session, "Northwind Traders", external_id="CRM-5")
        f.account(
            session,
            "Old Mill Bakery",
            external_id="CRM-6",
            archived_at=datetime.fromisoformat("2026-01-01T00:00:00+00:00"),
        )
    return db


def _both(capsys, monkeypatch, *args: str) -> tuple[tuple, tuple]:
    """`rebuy ARGS` on the lean path, then through the Typer app alone."""
    assert lean.parse(list(args)) is not None, args  # the lean path does take these
    fast = run(capsys, *args)
    with monkeypatch.context() as patch:
        patch.setattr(lean, "run_lean", lambda _args: None)
        full = run(capsys, *args)
    return fast, full


ACCOUNT_QUERIES = [
    ["Acme", "Corp"],  # the exact name
    ["acme", "corp"],  # in lower case
    ["CRM-1"],  # the CRM id
    ["crm-2"],  # the CRM id in another case
    ["acme"],  # the start of a name
    ["Harbr", "Suply"],  # a typo
    ["Harbor"],  # two accounts start so: a pick list
    ["Northwind", "Traders"],  # two accounts of one name
    ["Zzqx", "Nothing"],  # not found
    ["Old", "Mill", "Bakery"],  # archived: found by its CRM id only
    ["CRM-6"],
    ["   "],  # nothing typed
]


@pytest.mark.parametrize("words", ACCOUNT_QUERIES, ids=lambda words: " ".join(words))
@pytest.mark.parametrize("options", [[], ["--json"], ["--as-of", "2026-03-01", "--json"]])
def test_account_answers_as_the_typer_app_does(book, capsys, monkeypatch, words, options):
    fast, full = _both(capsys, monkeypatch, "account", *words, *options)
    assert fast == full
    assert fast[1] or fast[2]  # it answered something


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--json"],
        ["--as-of", "2026-03-01"],
        ["--json", "--as-of=2026-03-01"],
        ["--as-of", "2026-02-30", "--json"],  # not a day
        ["--as-of", "2026-02-30"],
        ["--as-of", "2027-01-01", "--json"],  # in the future
    ],
)
def test_report_answers_as_the_typer_app_does(book, capsys, monkeypatch, options):
    fast, full = _both(capsys, monkeypatch, "report", *options)
    assert fast == full
    assert fast[1] or fast[2]


@pytest.mark.parametrize(
    "args",
    [
        ["report", "--help"],
        ["report", "-h"],
        ["report", "extra"],
        ["report", "--jsn"],
        ["report", "--as-of"],
        ["report", "--as-of", "--json"],
        ["report", "--as-of="],
        ["account"],
        ["account", "--json"],
        ["account", "acme", "--help"],
        ["account", "acme", "--", "--json"],
        ["--help"],
        [],
        ["import", "accounts", "x.csv"],
    ],
)
def test_anything_else_goes_to_typer(args: list[str]) -> None:
    assert lean.parse(args) is None


def test_options_and_words_in_any_order() -> None:
    call = lean.parse(["account", "--json", "acme", "--as-of=2026-01-02", "corp"])
    assert call == lean.Call("account", ["acme", "corp"], True, "2026-01-02")
    assert lean.parse(["report", "--as-of", "2026-01-02", "--json", "--json"]) == lean.Call(
        "report", [], True, "2026-01-02"
    )


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize("args", [["report", "--as-of"], ["account"], ["report", "x"]])
def test_usage_errors_are_typers(book, capsys, args) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2
    assert "Error: " in err and "Traceback" not in out + err


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_report_settings_come_from_env_file(book, capsys, monkeypatch, tmp_path) -> None:
    """DATABASE_URL and REBUY_NOW from `.env` when the environment has none, the
    environment first when it has them (and an empty value counts as unset)."""
    url = book.engine.url.render_as_string(hide_password=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv("REBUY_NOW", "")
    (tmp_path / ".env").write_text(
        f'# local\nexport DATABASE_URL="{url}"\nrebuy_now=2026-06-15T14:00:00+00:00\n',
        encoding="utf-8",
    )
    fast, full = _both(capsys, monkeypatch, "report", "--json")
    assert fast == full and fast[0] == 0
    assert '"accounts": 5' in fast[1]  # the archived one is not counted
    monkeypatch.setenv("database_url", "sqlite:///elsewhere.db")  # any case, like pydantic
    code, out, err = run(capsys, "report", "--json")
    assert code == 0, err
    assert '"accounts": 0' in out
