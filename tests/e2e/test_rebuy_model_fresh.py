"""Never a stale chance presented as current; refits when the data cut-off moves; the card
path without scipy; the Slack report's model figures through the signed endpoint."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.db import Database
from bot.retention.rebuy_model import bgnbd, fit_job, store
from bot.retention.rebuy_model.words import about_money
from bot.retention.status import account_status
from bot.runtime import build_runtime
from bot.settings import Settings
from models import ModelFit, OrderFeed
from tests.support import factories as f
from tests.support.cli import NOW, run
from tests.support.rebuy_model import CADENCE, CDNOW, stored_fit
from tests.support.slack_app import SlackApp, all_text

TODAY = f.NOW.date()  # 15 Jun 2026
FRESH = TODAY - timedelta(days=5)


def _feed(db: Database, through: date) -> None:
    with db.transaction() as session:
        session.add(OrderFeed(source="crm", through=through, finished_at=f.NOW, rows=1))


def _card(db: Database, account_id: int):
    with db.session() as session:
        return account_status(
            session=session, account_id=account_id, now=f.NOW, tier_cadence=CADENCE
        )


@pytest.mark.parametrize(
    ("age", "newer", "state"),
    [
        (0, False, "current"),
        (14, False, "current"),
        (15, False, "dated"),
        (3, True, "dated"),
        (90, False, "dated"),
        (91, False, "expired"),
        (200, True, "expired"),
    ],
)
def test_freshness_thresholds(age, newer, state):
    cutoff = TODAY - timedelta(days=age)
    through = cutoff + timedelta(days=1) if newer else cutoff
    fresh = store.freshness(cutoff, today=TODAY, data_through=through)
    assert fresh.state == state and fresh.age_days == age
    assert fresh.newer_data == (through if newer else None)


def test_the_card_says_as_of_when_stale_and_nothing_when_expired(db: Database):
    with db.transaction() as session:
        acme = f.account(session, "Acme")
        f.order(session, acme, "2025-06-02", 400)
        f.order(session, acme, "2026-01-05", 500)
    stored_fit(db, cutoff=FRESH)
    _feed(db, FRESH)
    current = _card(db, acme.id).outlook
    assert not current.dated
    assert current.chance_text().startswith("Chance of an order in the next 90 days: ")
    # A sync brings data through a later day: the fit is behind it, so "as of".
    _feed(db, TODAY - timedelta(days=1))
    behind = _card(db, acme.id).outlook
    assert behind.dated and behind.chance == current.chance
    assert behind.chance_text().startswith(f"As of {FRESH.day} Jun, chance of an order")
    assert _card(db, acme.id).to_dict()["rebuy"]["as_of_cutoff"] is True
    # A fit whose cut-off is over 90 days old: nothing is shown, and no lapsing signal.
    stored_fit(db, cutoff=TODAY - timedelta(days=120), valuable_from=1.0)
    old = _card(db, acme.id)
    assert old.outlook is None and "likely_lapsing" not in old.signal_names
    assert old.to_dict()["rebuy"] is None


def test_model_show_warns_about_a_stale_fit(db: Database, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("REBUY_NOW", NOW)
    with db.transaction() as session:
        f.order(session, f.account(session, "Acme"), "2026-01-05", 500)
    stored_fit(db, cutoff=date(2026, 3, 31))
    _feed(db, date(2026, 3, 31))
    code, out, err = run(capsys, "model", "show")
    assert code == 0
    assert "Shown to reps" not in out
    assert 'reps see the chance "as of 31 Mar"' in err and "76 days old" in err
    stored_fit(db, cutoff=date(2026, 1, 31))
    code, out, err = run(capsys, "model", "show", "--json")
    assert code == 0 and '"freshness": "expired"' in out and '"shown": false' in out
    code, out, err = run(capsys, "model", "show")
    assert "reps see no chance of an order until newer orders are loaded" in err


def test_a_moved_cut_off_is_refitted_by_the_scheduler_job(db: Database, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("REBUY_NOW", NOW)
    with db.transaction() as session:
        acme = f.account(session, "Acme")
        f.order(session, acme, "2026-01-05", 500)
        f.order(session, acme, "2026-02-05", 500)
    _feed(db, date(2026, 3, 1))
    runtime = build_runtime(Settings())
    first = fit_job.refit_if_behind(runtime)  # no fit yet: behind
    assert first is not None and first.fit.cutoff == date(2026, 3, 1)
    assert fit_job.refit_if_behind(runtime) is None  # at the cut-off: nothing to do
    # A sync records data through a later day (as crm/sync.py does): the next check refits.
    with db.transaction() as session:
        f.order(session, acme, "2026-03-20", 700)
    _feed(db, date(2026, 3, 31))
    with db.session() as session:
        assert store.fit_is_behind(session=session)
    again = fit_job.refit_if_behind(runtime)
    assert again is not None and again.fit.cutoff == date(2026, 3, 31)
    with db.session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(ModelFit)).scalar() == 2
        assert not store.fit_is_behind(session=session)


def test_the_card_path_never_loads_scipy(db: Database, tmp_path):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("one database is enough for an import check")
    with db.transaction() as session:
        acme = f.account(session, "Acme")
        f.order(session, acme, "2025-06-02", 400)
        f.order(session, acme, "2026-03-02", 400)
    stored_fit(db)
    url = db.engine.url.render_as_string(hide_password=False)
    code = textwrap.dedent(
        f"""
        import sys
        import bot.cli, bot.retention.status, bot.messages.card, bot.retention.report
        assert "scipy" not in sys.modules and "numpy" not in sys.modules, "import"
        from bot.db import Database
        from bot.retention.status import account_status
        from bot.messages.card import status_card
        from tests.support.factories import NOW
        db = Database({url!r})
        with db.session() as session:
            status = account_status(session=session, account_id={acme.id}, now=NOW,
                                    tier_cadence={CADENCE!r})
        assert status.outlook is not None
        status_card(status)
        assert "numpy" in sys.modules  # it did score
        loaded = sorted(name for name in sys.modules if name.split(".")[0] == "scipy")
        print(loaded[:3])
        sys.exit(1 if loaded else 0)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_model_show_does_not_load_numpy(db: Database):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("one database is enough for an import check")
    stored_fit(db)
    code = textwrap.dedent(
        """
        import sys
        from bot import cli
        try:
            cli.app(["model", "show"])
        except SystemExit:
            pass
        sys.exit(2 if "numpy" in sys.modules else 0)
        """
    )
    env = {
        "DATABASE_URL": db.engine.url.render_as_string(hide_password=False),
        "REBUY_NOW": NOW,
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd="."
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Fit " in done.stdout


# --- the Slack report through the signed endpoint ------------------------------------------


def _weeks(later: date, earlier: date) -> float:
    return (later - earlier).days / 7


def test_slack_report_shows_the_models_figures(slack_app: SlackApp):
    db = slack_app.db
    history = {
        "Steady": (40_000, [FRESH - timedelta(weeks=4 * n) for n in range(6)][::-1]),
        "Quiet": (8_000, [date(2024, 5, 1), date(2024, 6, 3)]),
        "Once": (12_000, [date(2026, 2, 9)]),
    }
    with db.transaction() as session:
        for name, (value, days) in history.items():
            account = f.account(session, name, annual_value=value)
            for day in days:
                f.order(session, account, day, 900)
    _, reply = slack_app.command("report")
    assert "Expected to re-buy" not in all_text(reply)  # no fit: nothing claimed
    stored_fit(db, cutoff=FRESH)
    _feed(db, FRESH)
    status, reply = slack_app.command("report")
    assert status == 200
    text = all_text(reply)
    # The figures by hand from the paper's parameters (weeks) at the fit's cut-off.
    chances, at_risk = [], 0.0
    for value, days in history.values():
        x = len(days) - 1
        t_x, big_t = _weeks(days[-1], days[0]), _weeks(FRESH, days[0])
        chance = float(bgnbd.chance_of_order(CDNOW, 90 / 7, [x], [t_x], [big_t])[0])
        chances.append(chance)
        at_risk += value / 4 * (1 - chance)
    assert f"*Expected to re-buy in the next 90 days*\nabout {sum(chances):,.0f} of 3" in text
    assert f"*Value at risk next quarter*\n{about_money(at_risk)}" in text
    assert "0 %" not in text and "about 0 of" not in text
    # The same fit 76 days later reads as of its cut-off.
    with db.transaction() as session:
        session.execute(sa.update(ModelFit).values(created_at=datetime(2026, 6, 15, tzinfo=UTC)))
    stored_fit(db, cutoff=date(2026, 3, 31))
    _, reply = slack_app.command("report")
    assert "*Expected to re-buy in the 90 days after 31 Mar*" in all_text(reply)
