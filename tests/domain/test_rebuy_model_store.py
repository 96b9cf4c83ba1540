"""The re-buy model's storage: the data cut-off recorded with each orders import, the
stored fit, `rebuy model fit|show`, the fit after an import and the weekly job."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.db import Database
from bot.retention.rebuy_model import fit_job
from bot.runtime import build_runtime
from bot.settings import Settings
from models import Account, ModelFit, OrderFeed
from tests.support import factories as f
from tests.support.cli import NOW, ORDERS_HEADER, run, write


@pytest.fixture
def workspace(db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("REBUY_NOW", NOW)
    with db.transaction() as session:
        f.account(session, "Acme", external_id="A1")
        f.account(session, "Beta Supply", external_id="B2")
    return db


def feeds(db: Database) -> list[OrderFeed]:
    with db.session() as session:
        return list(session.execute(sa.select(OrderFeed).order_by(OrderFeed.id)).scalars())


def fits(db: Database) -> list[ModelFit]:
    with db.session() as session:
        return list(session.execute(sa.select(ModelFit).order_by(ModelFit.id)).scalars())


ORDERS = ORDERS_HEADER + "A1,2026-01-05,100,SO-1,\nB2,2026-02-10,50,SO-2,\nA1,2026-03-01,80,SO-3,\n"


def test_an_orders_import_records_its_through_date_and_fits(workspace, capsys, tmp_path):
    path = write(tmp_path, "orders.csv", ORDERS)
    code, out, err = run(capsys, "import", "orders", str(path))
    assert code == 0, err
    [feed] = feeds(workspace)
    assert (feed.source, feed.through, feed.rows) == ("csv", date(2026, 3, 1), 3)
    # Two accounts are far too few: the fit is stored, and the CLI says why it is not shown.
    assert "Re-buy model fitted to 1 Mar 2026 (2 accounts, 1 repeater," in out
    assert "Not shown to reps: only 1 account has ordered on more than one day" in out
    [stored] = fits(workspace)
    assert stored.cutoff == date(2026, 3, 1) and not stored.reliable
    assert json.loads(stored.result_json)["accounts"] == 2


def test_through_option_dry_run_and_other_kinds(workspace, capsys, tmp_path):
    path = write(tmp_path, "orders.csv", ORDERS)
    code, _, err = run(capsys, "import", "orders", str(path), "--dry-run")
    assert code == 0, err
    assert feeds(workspace) == [] and fits(workspace) == []  # a dry run records nothing
    code, _, err = run(capsys, "import", "orders", str(path), "--through", "2026-03-31")
    assert code == 0, err
    assert [feed.through for feed in feeds(workspace)] == [date(2026, 3, 31)]
    # The fit's T ends at the stored through-date, not at REBUY_NOW (15 Jun 2026).
    [fitted] = fits(workspace)
    assert fitted.cutoff == date(2026, 3, 31)
    assert json.loads(fitted.result_json)["cutoff"] == "2026-03-31"
    code, _, err = run(capsys, "import", "orders", str(path), "--through", "soon")
    assert code == 1 and "--through: “soon” is not a date" in err
    accounts = write(tmp_path, "a.csv", "external_id,name\nC3,Cirrus\n")
    code, _, err = run(capsys, "import", "accounts", str(accounts), "--through", "2026-03-31")
    assert code == 1 and "only an orders import has a through-date" in err


def test_a_failed_fit_never_fails_the_import(workspace, capsys, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise FloatingPointError("overflow in the optimiser")

    monkeypatch.setattr(fit_job, "fit_rebuy_model", broken)
    path = write(tmp_path, "orders.csv", ORDERS)
    code, out, err = run(capsys, "import", "orders", str(path))
    assert code == 0, err
    assert "Re-buy model not fitted (FloatingPointError: overflow in the optimiser)" in out
    assert len(feeds(workspace)) == 1 and fits(workspace) == []


def test_model_show_before_and_after_a_fit(workspace, capsys, tmp_path):
    code, out, _ = run(capsys, "model", "show")
    assert code == 0 and "No re-buy model fit is stored yet" in out and "Import orders" in out
    run(capsys, "import", "orders", str(write(tmp_path, "o.csv", ORDERS)))
    code, out, _ = run(capsys, "model", "show")
    assert code == 0
    assert "Not shown to reps: only 1 account has ordered on more than one day" in out
    code, out, _ = run(capsys, "model", "show", "--json")
    data = json.loads(out)
    assert data["shown"] is False and data["fit"]["cutoff"] == "2026-03-01"
    # A newer import moves the data cut-off; show says the fit is behind it.
    with workspace.transaction() as session:
        session.add(
            OrderFeed(source="crm", through=date(2026, 4, 2), finished_at=datetime.now(UTC), rows=1)
        )
    code, out, err = run(capsys, "model", "show")
    assert code == 0 and "The data is now complete through 2 Apr 2026" in err
    assert "`rebuy serve` refits within the hour" in err


def test_data_cutoff_prefers_the_setting_then_the_newest_feed(workspace):
    with workspace.transaction() as session:
        assert fit_job.data_cutoff(session=session) is None
        acme = session.execute(sa.select(Account).where(Account.external_id == "A1")).scalar()
        f.order(session, acme, "2026-01-05", 100)
    with workspace.session() as session:  # orders from before feeds were recorded
        assert fit_job.data_cutoff(session=session) == date(2026, 1, 5)
    with workspace.transaction() as session:
        session.add(
            OrderFeed(
                source="csv",
                through=date(2026, 1, 31),
                finished_at=datetime(2026, 2, 1, tzinfo=UTC),
                rows=1,
            )
        )
    with workspace.session() as session:
        assert fit_job.data_cutoff(session=session) == date(2026, 1, 31)
        assert fit_job.data_cutoff(session=session, configured=date(2026, 1, 20)) == date(
            2026, 1, 20
        )
    # A later correction file of a few old orders never moves the cut-off back.
    with workspace.transaction() as session:
        session.add(
            OrderFeed(
                source="csv",
                through=date(2025, 6, 30),
                finished_at=datetime(2026, 2, 2, tzinfo=UTC),
                rows=1,
            )
        )
    with workspace.session() as session:
        assert fit_job.data_cutoff(session=session) == date(2026, 1, 31)


def test_fit_weekly_fits_once_a_week(workspace, monkeypatch, capsys, tmp_path):
    run(capsys, "import", "orders", str(write(tmp_path, "o.csv", ORDERS)))
    runtime = build_runtime(Settings())
    assert fit_job.fit_weekly(runtime) is None  # the import's fit is fresh and current
    monkeypatch.setenv("REBUY_NOW", (datetime.fromisoformat(NOW) + timedelta(days=7)).isoformat())
    later = build_runtime(Settings())
    done = fit_job.fit_weekly(later)
    assert done is not None and done.fit.cutoff == date(2026, 3, 1)
    assert len(fits(workspace)) == 2


def test_importing_the_cli_does_not_load_numpy():
    code = "import sys, bot.cli, bot.scheduler; sys.exit('numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_rebuy_data_cutoff_overrides_the_through_date(workspace, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("REBUY_DATA_CUTOFF", "2026-02-15")
    code, out, err = run(capsys, "import", "orders", str(write(tmp_path, "o.csv", ORDERS)))
    assert code == 0, err
    assert [feed.through for feed in feeds(workspace)] == [date(2026, 3, 1)]  # as imported
    assert "Re-buy model fitted to 15 Feb 2026" in out  # the configured cut-off wins
    monkeypatch.setenv("REBUY_DATA_CUTOFF", "mid-February")
    code, _, err = run(capsys, "model", "show")
    assert code == 2 and "REBUY_DATA_CUTOFF" in err
