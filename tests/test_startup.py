"""`rebuy account` pays only for what it uses: heavy libraries stay unimported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.db import Database
from tests import factories as f

HEAVY = ("slack_bolt", "slack_sdk", "alembic", "scipy", "numpy", "hubspot", "simple_salesforce")
# Runs the CLI's own main in-process, then reports which top-level modules were loaded.
PROBE = """
import json, sys
from bot import cli
sys.argv = ["rebuy", "account", *sys.argv[1:]]
try:
    cli.main()
except SystemExit:
    pass
print("\\nMODULES " + json.dumps(sorted({name.split(".")[0] for name in sys.modules})))
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
    loaded = set(json.loads(modules))
    assert not loaded & set(HEAVY), loaded & set(HEAVY)
    assert "holidays" not in loaded  # no HOLIDAY_COUNTRY, no holiday tables
    if query == "Harbor Supply":
        assert "rapidfuzz" not in loaded  # an exact name needs no fuzzy matching
