"""The `rebuy` command line as an admin uses it: exit codes, JSON shapes, clear errors."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from bot.db import Database
from models import Rep
from tests.support import factories as f
from tests.support.cli import NOW, run


@pytest.fixture
def workspace(db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """A small workspace, and the CLI pointed at it with a fixed "now"."""
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("REBUY_NOW", NOW)
    with db.transaction() as session:
        owner = f.rep(session, email="ana@example.com", name="Ana Ruiz", slack_user_id="UANA")
        acme = f.account(
            session, "Acme Corp", external_id="CRM-1", owner_id=owner.id, annual_value=50000
        )
        f.order(session, acme, "2025-09-01", 3000)
        f.order(session, acme, "2026-05-20", 1000)
        f.contact(session, acme, "Jo Buyer", title="Buyer")
        f.touch(session, acme, "2026-05-01", "call", rep_id=owner.id, note="asked about Q3")
        f.account(session, "Northwind Traders")
        f.account(session, "Northwind Logistics")
    return db


def test_account_json_has_the_documented_fields(workspace, capsys) -> None:
    code, out, err = run(capsys, "account", "acme", "--json")
    assert code == 0, err
    data = json.loads(out)
    for key in (
        "name",
        "external_id",
        "owner",
        "tier",
        "last_order_at",
        "orders_count",
        "total_value",
        "last_touch_at",
        "touches_count",
        "next_touch_due",
        "segment",
        "health",
        "signals",
        "tactics",
        "contacts",
        "plan",
    ):
        assert key in data, key
    assert data["name"] == "Acme Corp"
    assert data["owner"] == "ana@example.com"
    assert data["orders_count"] == 2
    assert data["total_value"] == 4000
    assert data["last_order_at"].startswith("2026-05-20")
    assert data["last_touch_at"].startswith("2026-05-01")
    # 1 May + 30 days is Sunday 31 May: due on the next working day.
    assert data["next_touch_due"] == "2026-06-01"
    assert set(data["health"]) >= {"score", "reasons"}
    assert "touch_overdue" in data["signals"]
    assert "single_threaded" in data["signals"]
    assert 2 <= len(data["tactics"]) <= 3
    assert all({"id", "title", "why"} <= set(t) for t in data["tactics"])
    assert data["contacts"][0]["name"] == "Jo Buyer"
    assert data["plan"] is None


def test_as_of_replays_the_past(workspace, capsys) -> None:
    code, out, _ = run(capsys, "account", "Acme Corp", "--json", "--as-of", "2026-05-10")
    assert code == 0
    data = json.loads(out)
    assert data["orders_count"] == 1  # the 20 May order has not happened yet
    assert "touch_overdue" not in data["signals"]


def test_text_card_is_readable(workspace, capsys) -> None:
    code, out, _ = run(capsys, "account", "ACME")
    assert code == 0
    assert "Acme Corp (CRM-1)" in out
    assert "Health" in out and "Try next" in out
    assert "single-threaded" in out


def test_unknown_account_exits_1_with_suggestions(workspace, capsys) -> None:
    code, out, err = run(capsys, "account", "Acme Crp Intl", "--json")
    assert code == 1
    data = json.loads(out)
    assert "error" in data and isinstance(data["suggestions"], list)
    code, out, err = run(capsys, "account", "zzzz qqqq")
    assert code == 1
    assert "No account matches" in err
    assert "Traceback" not in out + err


def test_ambiguous_account_lists_the_candidates(workspace, capsys) -> None:
    code, out, _ = run(capsys, "account", "northwind", "--json")
    assert code == 1
    assert sorted(json.loads(out)["suggestions"]) == ["Northwind Logistics", "Northwind Traders"]


def test_bad_as_of_is_explained(workspace, capsys) -> None:
    code, out, err = run(capsys, "account", "acme", "--as-of", "15/06/2026")
    assert code == 1
    assert "--as-of" in err and "YYYY-MM-DD" in err
    assert "Traceback" not in out + err


def test_report_json(workspace, capsys) -> None:
    code, out, err = run(capsys, "report", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["accounts"] == 3
    assert data["not_bought_6m"] == 2  # the two Northwinds never bought
    assert data["not_bought_12m"] == 2
    assert data["not_bought_18m"] == 2
    assert data["declining"] == 1  # Acme: 1,000 against 3,000
    for group in ("best", "average", "worst"):
        assert "last_order_at" in data[group]
    assert data["best"]["last_order_at"] == "2026-05-20"


def test_report_text(workspace, capsys) -> None:
    code, out, _ = run(capsys, "report")
    assert code == 0
    assert "Not bought in 6 months" in out


def test_report_names_the_accounts_nobody_owns(workspace, capsys) -> None:
    code, out, _ = run(capsys, "report")
    assert code == 0
    assert "2 accounts have no owner, so nobody is reminded of them: " in " ".join(out.split())

    code, out, _ = run(capsys, "report", "--json")
    assert code == 0
    unowned = json.loads(out)["accounts_without_owner"]
    assert unowned["count"] == 2
    # Neither has an annual value, so by name; Acme has an owner and is not listed.
    names = [name.split(" (")[0] for name in unowned["first"]]
    assert names == ["Northwind Logistics", "Northwind Traders"]


def test_an_owner_no_longer_in_slack_is_said_on_the_card_and_in_the_report(
    workspace, capsys
) -> None:
    """Reps sync marks a rep deleted in Slack inactive, and reminders skip them: their
    accounts are nobody's to be reminded of, and the card must not look covered."""
    with workspace.transaction() as session:
        session.execute(sa.update(Rep).values(active=False))

    code, out, err = run(capsys, "account", "acme")
    assert code == 0, err
    flat = " ".join(out.replace("│", " ").split())  # the card's panel wraps its lines
    assert "Ana Ruiz <ana@example.com> (no longer in Slack: nobody is reminded of" in flat
    code, out, _ = run(capsys, "account", "acme", "--json")
    assert json.loads(out)["owner_active"] is False

    code, out, _ = run(capsys, "report")
    assert code == 0
    said = " ".join(out.split())
    assert (
        "3 accounts have no owner, or (1 of them) an owner no longer in Slack, so nobody is "
        "reminded of them: Acme Corp (CRM-1), Northwind Logistics" in said
    )
    code, out, _ = run(capsys, "report", "--json")
    unowned = json.loads(out)["accounts_without_owner"]
    assert (unowned["count"], unowned["owner_left_slack"]) == (3, 1)


def test_bad_environment_is_explained(workspace, capsys, monkeypatch) -> None:
    monkeypatch.setenv("REMINDER_MAX_PER_DAY", "lots")
    code, out, err = run(capsys, "account", "acme")
    assert code == 2
    assert "REMINDER_MAX_PER_DAY" in err
    assert "Traceback" not in out + err


def test_the_report_reads_only_its_own_settings(workspace, capsys, monkeypatch) -> None:
    # `rebuy report` reads DATABASE_URL and REBUY_NOW only (no pydantic-settings on its
    # path): a setting it does not use cannot stop it, a bad one it uses is explained.
    monkeypatch.setenv("REMINDER_MAX_PER_DAY", "lots")
    code, out, err = run(capsys, "report", "--json")
    assert code == 0, err
    assert json.loads(out)["accounts"] == 3
    monkeypatch.delenv("REMINDER_MAX_PER_DAY")
    monkeypatch.setenv("REBUY_NOW", "yesterday")
    code, out, err = run(capsys, "report", "--json")
    assert code == 2
    assert err.startswith("Configuration problem: REBUY_NOW: Input should be a valid datetime")
    assert "Traceback" not in out + err


def test_unreachable_database_is_explained(capsys, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/nothing")
    code, out, err = run(capsys, "report")
    assert code == 2
    assert "Cannot use the database" in err and "DATABASE_URL" in err
    assert "Traceback" not in out + err


def test_demo_runs_without_slack(capsys, monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "demo")
    assert code == 0, err
    assert (tmp_path / "rebuy-demo.db").exists()
    assert "Health" in out
    assert "to contact today" in out
    # Run twice: it starts afresh instead of failing on the old data.
    code, _, err = run(capsys, "demo")
    assert code == 0, err
