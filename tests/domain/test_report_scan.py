"""The report's statements over every account run on PostgreSQL without JIT and with
more work_mem, for their own transaction only (bot/retention/report_sql.py)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.db import Database
from bot.retention.report_command import open_database
from bot.retention.report_sql import ReportQuery
from tests.support import factories as f


def test_the_scan_settings_hold_for_the_report_and_end_with_its_transaction(
    db: Database,
) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL settings")
    with db.transaction() as session:
        account = f.account(session, name="Acme Harbour")
        f.order(session, account, "2026-05-20", 1200)
    database = open_database(db.engine.url.render_as_string(hide_password=False))
    try:
        setting = "SELECT current_setting('jit'), current_setting('work_mem')"
        ((jit, work_mem),) = database.run(setting, {})
        query = ReportQuery(database.run, database.sql, as_of=date(2026, 6, 15), now=f.NOW)
        cutoffs = query.compute_cutoffs()
        assert cutoffs.population == 1
        assert database.run(setting, {}) == [("off", "64MB")]
        database.connection.rollback()
        assert database.run(setting, {}) == [(jit, work_mem)]
        assert query.groups(cutoffs)
        assert database.run(setting, {}) == [("off", "64MB")]
    finally:
        database.close()
