"""The data cut-off is a UTC day: a rep west of UTC, orders dated tomorrow, a future
or too early --through; and an expected value under a dollar in words."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from bot.db import Database
from bot.retention.rebuy_model import store
from bot.retention.rebuy_model.outlook import Outlook
from bot.retention.status import account_status
from models import Order, OrderFeed
from tests.support import factories as f
from tests.support.cli import NOW, run, write
from tests.support.rebuy_model import CADENCE, stored_fit

TODAY = f.NOW.date()  # 15 Jun 2026


def test_a_rep_west_of_utc_still_sees_the_chance_after_a_sync_past_utc_midnight(db: Database):
    with db.transaction() as session:
        acme = f.account(session, "Acme")
        f.order(session, acme, "2025-06-02", 400)
        f.order(session, acme, "2026-01-05", 500)
    # A sync that started at 00:30 UTC on the 16th records data through the 16th and the
    # refit stores that cut-off; in Los Angeles it is still the 15th.
    stored_fit(db, cutoff=TODAY + timedelta(days=1))
    with db.transaction() as session:
        session.add(
            OrderFeed(source="crm", through=TODAY + timedelta(days=1), finished_at=f.NOW, rows=1)
        )
    with db.session() as session:
        local = account_status(
            session=session, account_id=acme.id, now=f.NOW, tier_cadence=CADENCE, as_of=TODAY
        )
        replay = account_status(
            session=session,
            account_id=acme.id,
            now=f.NOW,
            tier_cadence=CADENCE,
            as_of=TODAY - timedelta(days=1),
        )
    assert local.outlook is not None and not local.outlook.dated
    assert replay.outlook is None


def test_an_order_dated_tomorrow_does_not_move_the_cut_off_past_today(workspace, capsys, tmp_path):
    tomorrow = date.fromisoformat(NOW[:10]) + timedelta(days=1)
    orders = write(
        tmp_path,
        "orders.csv",
        f"account_external_id,order_id,ordered_at,amount\nA1,O1,2026-01-05,100\n"
        f"A1,O2,{tomorrow.isoformat()},100\n",
    )
    code, _, err = run(capsys, "import", "orders", str(orders))
    assert code == 0, err
    with workspace.session() as session:
        assert store.latest_feed_through(session=session) == date.fromisoformat(NOW[:10])


def test_through_today_is_taken_with_an_order_dated_tomorrow(workspace, capsys, tmp_path):
    # A nightly `--through $(date -u +%F)` with an order stamped tomorrow in UTC (time
    # zones): the order is imported and the cut-off is today, as without --through.
    today = date.fromisoformat(NOW[:10])
    orders = write(
        tmp_path,
        "orders.csv",
        f"account_external_id,order_id,ordered_at,amount\nA1,O1,2026-01-05,100\n"
        f"A1,O2,{(today + timedelta(days=1)).isoformat()},100\n",
    )
    code, _, err = run(capsys, "import", "orders", str(orders), "--through", today.isoformat())
    assert code == 0, err
    with workspace.session() as session:
        assert store.latest_feed_through(session=session) == today


def test_a_future_through_date_is_refused(workspace, capsys, tmp_path):
    orders = write(
        tmp_path,
        "orders.csv",
        "account_external_id,order_id,ordered_at,amount\nA1,O1,2026-01-05,1\n",
    )
    code, _, err = run(capsys, "import", "orders", str(orders), "--through", "2062-01-01")
    assert code == 1
    assert "--through: 1 Jan 2062 is in the future." in err and "Traceback" not in err
    with workspace.session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(OrderFeed)).scalar() == 0


def test_a_through_date_before_the_files_last_order_is_refused_and_nothing_is_written(
    workspace, capsys, tmp_path
):
    orders = write(
        tmp_path,
        "orders.csv",
        "account_external_id,order_id,ordered_at,amount\nA1,O1,2026-01-05,1\nA1,O2,2026-03-02,5\n",
    )
    code, _, err = run(capsys, "import", "orders", str(orders), "--through", "2026-02-28")
    assert code == 1
    assert "--through: 28 Feb 2026 is before the file's latest order (2 Mar 2026)" in err
    assert "Traceback" not in err
    with workspace.session() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(OrderFeed)).scalar() == 0
        assert session.execute(sa.select(sa.func.count()).select_from(Order)).scalar() == 0
    # On or after the last order it is the data cut-off.
    code, _, err = run(capsys, "import", "orders", str(orders), "--through", "2026-03-02")
    assert code == 0, err
    with workspace.session() as session:
        assert store.latest_feed_through(session=session) == date(2026, 3, 2)


def test_an_expected_value_under_a_dollar_is_never_about_zero():
    outlook = Outlook(
        fit_id=1,
        cutoff=TODAY,
        chance=0.001,
        expected_orders=0.001,
        expected_value=0.3,
        order_value=300.0,
        order_days=7,
        valuable=True,
    )
    assert outlook.value_text() == "worth under $1 next quarter"
    assert "$0" not in outlook.line()
    assert Outlook(**{**outlook.__dict__, "expected_value": 4123.0}).value_text() == (
        "worth about $4,100 next quarter"
    )
