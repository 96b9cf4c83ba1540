"""`rebuy report`'s read path: a new process loads no ORM, no SQLAlchemy and no Alembic,
its JSON equals the report recomputed from every order, and the types the messages
render import no database code."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bot.db import Database
from bot.retention.report import recomputed_report
from tests.support import factories as f

HEAVY = ("sqlalchemy", "sqlmodel", "models", "alembic", "bot.db")

CHILD = """
import json, sys
from datetime import datetime
from bot.retention.report_command import read_report
report = read_report(sys.argv[1], now=datetime.fromisoformat(sys.argv[2]), as_of=None)
print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str))
code = 0
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("sqlalchemy", "sqlmodel",
               "models", "alembic") or m == "bot.db")
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


def _child(code: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=True
    )


def test_a_new_report_process_loads_no_orm_and_equals_the_recomputation(
    sqlite_db: Database,
) -> None:
    with sqlite_db.transaction() as session:
        owned = f.account(session, name="Acme Harbour", owner_id=f.rep(session).id)
        quiet = f.account(session, name="Quiet Ltd")
        f.account(session, name="Never Bought")
        for day, amount in (("2025-11-02", 500), ("2026-03-01", 900), ("2026-05-20", 1200)):
            f.order(session, owned, day, amount)
        f.order(session, quiet, "2024-09-09", 4000)
        f.order(session, quiet, "2024-09-09", -4000)  # a credit: never a purchase
        f.order(session, quiet, "2024-01-05", 300)
    with sqlite_db.session() as session:
        expected = recomputed_report(session=session, now=f.NOW).to_dict()
    url = sqlite_db.engine.url.render_as_string(hide_password=False)
    done = _child(CHILD, url, f.NOW.isoformat())
    child = json.loads(done.stderr.strip().splitlines()[-1])
    assert child == {"code": 0, "heavy": []}
    assert json.loads(done.stdout) == json.loads(json.dumps(expected, default=str))
    assert expected["never_bought"] == 1
    assert expected["accounts_without_owner"]["count"] == 2


def test_the_rendered_report_types_import_no_database_code() -> None:
    done = _child(
        "import sys, bot.retention.report_result, bot.retention.report; "
        f"print([m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m == 'bot.db'])"
    )
    assert done.stdout.strip() == "[]"


def test_the_forecast_horizon_is_the_models() -> None:
    from bot.retention.rebuy_model.outlook import HORIZON_DAYS
    from bot.retention.report_result import HORIZON_DAYS as SHOWN

    assert SHOWN == HORIZON_DAYS
