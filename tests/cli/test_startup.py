"""Commands pay only for what they use: heavy libraries stay unimported, and only
`serve`, `db upgrade` and the commands that write run migrations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.db import SCHEMA_HEAD, Database
from tests.support import factories as f
from tests.support.cli import run as run_cli

HEAVY = ("slack_bolt", "slack_sdk", "alembic", "scipy", "numpy", "hubspot", "simple_salesforce")
# Runs the CLI's own main in-process, then reports which modules were loaded.
PROBE = """
import json, sys
from bot import cli
sys.argv = ["rebuy", "account", *sys.argv[1:]]
try:
    cli.main()
except SystemExit:
    pass
print("\\nMODULES " + json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize("query", ["Harbor Supply", "Harbr Suply", "Zzqx Nothing"])
def test_rebuy_account_imports_no_heavy_library(db: Database, tmp_path: Path, query) -> None:
    with db.transaction() as session:
        f.account(session, name="Harbor Supply")
        f.account(session, name="Harbor Logistics")
    env = {**os.environ, "DATABASE_URL": db.url, "REBUY_NOW": "2026-06-30T09:00Z"}
    run = subprocess.run(
        [sys.executable, "-c", PROBE, *query.split()],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    output, _, modules = run.stdout.rpartition("\nMODULES ")
    if query == "Zzqx Nothing":
        assert "Zzqx Nothing" in run.stderr + output  # it answered: not found
    else:
        assert "Harbor Supply" in output  # it answered with the card
    every = set(json.loads(modules))
    loaded = {name.split(".")[0] for name in every}
    heavy = set(HEAVY)
    if query != "Harbor Supply":
        heavy.discard("numpy")  # the name index's word and trigram postings use numpy
    assert not loaded & heavy, loaded & heavy
    assert "holidays" not in loaded  # no HOLIDAY_COUNTRY, no holiday tables
    assert "bot.retention.report" not in every  # the card needs no report
    if query == "Harbor Supply":
        assert not loaded & {"rapidfuzz", "numpy"}  # an exact name needs no name index


# `rebuy --help` (and `python -m bot.cli`) loads typer and rich, not the database stack.
HELP_NEVER = (
    "sqlalchemy",
    "sqlmodel",
    "alembic",
    "slack_sdk",
    "slack_bolt",
    "numpy",
    "scipy",
    "models",
    "pydantic_settings",
)


def _loaded_by(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[set[str], str]:
    """Run `python -X importtime -m bot.cli ARGS`; the top-level modules it imported and
    its output (stdout and stderr)."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    loaded = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in run.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    text = run.stdout + "".join(
        line + "\n" for line in run.stderr.splitlines() if not line.startswith("import time:")
    )
    return loaded, text


def test_rebuy_help_imports_no_database_slack_or_numeric_library(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    loaded, text = _loaded_by(tmp_path, env, "--help")
    assert "Usage: rebuy" in text and "account" in text and "import" in text
    assert "typer" in loaded and "bot" in loaded  # the probe sees imports at all
    assert not loaded & set(HELP_NEVER), loaded & set(HELP_NEVER)
    assert not (tmp_path / "rebuy.db").exists()  # and opens no database


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_rebuy_report_reads_without_alembic(db: Database, tmp_path: Path) -> None:
    with db.transaction() as session:
        acme = f.account(session, name="Harbor Supply")
        f.order(session, acme, "2026-01-05", 1200)
    env = {**os.environ, "DATABASE_URL": db.url, "REBUY_NOW": "2026-06-30T09:00Z"}
    loaded, text = _loaded_by(tmp_path, env, "report", "--json")
    assert json.loads(text)["accounts"] == 1
    assert not loaded & {"alembic", "slack_sdk", "slack_bolt", "scipy"}


def _one_revision_behind(path: Path) -> tuple[Database, str]:
    from alembic import command

    from bot.db import alembic_config

    database = Database(f"sqlite:///{path}")
    database.upgrade()
    with database.engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")
    stored = database.stored_revision()
    assert stored is not None and stored != SCHEMA_HEAD
    return database, stored


@pytest.mark.parametrize("command", [["account", "acme"], ["report"], ["model", "show"]])
def test_a_reader_on_an_out_of_date_database_says_to_run_db_upgrade(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, command: list[str]
) -> None:
    database, stored = _one_revision_behind(tmp_path / "old.db")
    monkeypatch.setenv("DATABASE_URL", database.url)
    monkeypatch.setenv("REBUY_NOW", "2026-06-30T09:00Z")

    code, out, err = run_cli(capsys, *command)

    assert code == 1
    assert out == ""
    assert err.strip() == (
        f"The database is at schema revision {stored} and this version of Rebuy needs "
        f"{SCHEMA_HEAD}: run `rebuy db upgrade` (once, as the admin), then try again."
    )
    assert database.stored_revision() == stored  # a reader never migrates

    code, out, err = run_cli(capsys, "db", "upgrade")
    assert code == 0, err
    assert out.strip() == f"Database at revision {SCHEMA_HEAD} (was {stored})"
    code, _, err = run_cli(capsys, *command)
    assert "schema revision" not in err
    database.dispose()


def test_an_import_dry_run_on_an_out_of_date_database_changes_nothing_not_even_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    database, stored = _one_revision_behind(tmp_path / "old.db")
    monkeypatch.setenv("DATABASE_URL", database.url)
    accounts = tmp_path / "accounts.csv"
    accounts.write_text("external_id,name\nA1,Acme\n", encoding="utf-8")

    code, _out, err = run_cli(capsys, "import", "accounts", str(accounts), "--dry-run")

    assert code == 1
    assert "run `rebuy db upgrade` (once, as the admin), then try again." in err
    assert database.stored_revision() == stored
    database.dispose()


def test_a_writer_on_an_out_of_date_database_migrates_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    database, _ = _one_revision_behind(tmp_path / "old.db")
    with database.transaction() as session:
        f.rep(session, email="ana@example.com")
    monkeypatch.setenv("DATABASE_URL", database.url)
    monkeypatch.setenv("REBUY_NOW", "2026-06-30T09:00Z")

    code, out, err = run_cli(capsys, "away", "ana@example.com", "2026-07-01", "2026-07-03")

    assert code == 0, err
    assert "ana@example.com is away" in out
    assert database.stored_revision() == SCHEMA_HEAD
    database.dispose()


def test_a_reader_on_a_new_database_creates_the_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    path = tmp_path / "new.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")

    code, _, err = run_cli(capsys, "account", "acme")

    assert code == 1
    assert "There are no accounts yet" in err
    assert Database(f"sqlite:///{path}").stored_revision() == SCHEMA_HEAD


# The lean path (bot/cli/lean.py): `rebuy report` reads its two settings itself and
# prints JSON with the standard library; `rebuy account --json` needs no Typer or Rich.
LEAN_NEVER = ("typer", "click", "rich", "pydantic_settings", "sqlalchemy", "sqlmodel", "models")


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_rebuy_report_json_starts_without_typer_rich_or_settings(
    db: Database, tmp_path: Path
) -> None:
    with db.transaction() as session:
        acme = f.account(session, name="Harbor Supply")
        f.order(session, acme, "2026-01-05", 1200)
    env = {**os.environ, "DATABASE_URL": db.url, "REBUY_NOW": "2026-06-30T09:00Z"}
    loaded, text = _loaded_by(tmp_path, env, "report", "--json")
    assert json.loads(text)["accounts"] == 1
    assert "bot" in loaded and "sqlite3" in loaded  # the probe sees imports at all
    assert not loaded & set(LEAN_NEVER), loaded & set(LEAN_NEVER)


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_rebuy_account_json_starts_without_typer_or_rich(db: Database, tmp_path: Path) -> None:
    with db.transaction() as session:
        f.account(session, name="Harbor Supply")
    env = {**os.environ, "DATABASE_URL": db.url, "REBUY_NOW": "2026-06-30T09:00Z"}
    loaded, text = _loaded_by(tmp_path, env, "account", "harbor", "supply", "--json")
    assert json.loads(text)["name"] == "Harbor Supply"
    assert not loaded & {"typer", "click", "rich"}, loaded & {"typer", "click", "rich"}
