"""`rebuy model fit` and `rebuy model backtest` against a real database."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
import sqlalchemy as sa

from bot.db import Database
from bot.retention.rebuy_model import simulate
from bot.retention.rebuy_model.bgnbd import BGNBDParams
from bot.retention.rebuy_model.gamma_gamma import GammaGammaParams
from models import Order
from tests.support import factories as f
from tests.support.cli import run

START = date(2024, 1, 1)
LAST_DAY: list[date] = []
END = date(2025, 12, 31)


@pytest.fixture
def workspace(db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """600 accounts whose orders follow a BG/NBD process; "now" long after the data ends."""
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("REBUY_NOW", "2026-09-01T09:00:00+00:00")
    orders = simulate.orders(
        accounts=600,
        params=BGNBDParams(r=1.0, alpha=40.0, a=0.9, b=3.0),
        spend=GammaGammaParams(p=5.0, q=4.0, gamma=300.0),
        first_day=START,
        last_day=END,
        rng=np.random.default_rng(5),
    )
    with db.transaction() as session:
        ids = [f.account(session, f"Account {i}").id for i in range(600)]
        rows = zip(
            orders.account.tolist(), orders.day.tolist(), orders.amount.tolist(), strict=True
        )
        session.execute(
            sa.insert(Order),
            [
                {
                    "account_id": ids[code],
                    "ordered_at": f.at(date.fromordinal(day)),
                    "amount": Decimal(f"{amount:.2f}"),
                    "order_key": f"ORD-{n}",
                }
                for n, (code, day, amount) in enumerate(rows)
            ],
        )
    LAST_DAY.append(date.fromordinal(int(orders.day.max())))
    return db


def test_model_fit_to_the_last_order_day_and_why_not_shown(workspace, capsys):
    code, out, err = run(capsys, "model", "fit", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["cutoff"] == LAST_DAY[-1].isoformat()  # the data's end, not REBUY_NOW
    assert data["accounts"] == 600
    assert data["repeaters"] > 250
    assert data["reliable"], data["reason"]
    assert data["b"] == pytest.approx(3.0, rel=0.5)
    # Three months of history: fitted, but not shown, and the CLI says why.
    code, out, _ = run(capsys, "model", "fit", "--cutoff", str(START + timedelta(days=90)))
    assert code == 0
    assert "Not shown to reps: only " in out
    assert "(the model needs at least 250)" in out


def test_model_backtest_json_table_and_errors(workspace, capsys):
    code, out, err = run(
        capsys,
        "model",
        "backtest",
        "--calibration-end",
        "2024-12-31",
        "--horizon-weeks",
        "52",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["accounts"] == 600  # everyone's first order is in 2024
    assert data["actual_repeat_occasions"] > 0
    assert data["predicted_repeat_occasions"] == pytest.approx(
        data["actual_repeat_occasions"], rel=0.25
    )
    code, out, _ = run(capsys, "model", "backtest", "--calibration-end", "2024-12-31")
    assert code == 0
    assert "Brier score" in out
    # Bad requests get a plain message, never a traceback.
    code, _, err = run(capsys, "model", "backtest", "--calibration-end", "2025-10-01")
    assert code == 1
    assert "after the data cut-off 31 Dec 2025" in err
    assert "Traceback" not in err
    code, _, err = run(capsys, "model", "backtest", "--calibration-end", "last year")
    assert code == 1
    assert "--calibration-end: “last year” is not a date" in err
