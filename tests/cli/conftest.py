"""CLI fixtures: `workspace` is two accounts, A1 and B2, with the CLI pointed at them.
A module whose commands need a different book defines its own `workspace`."""

from __future__ import annotations

import pytest

from bot.db import Database
from tests.support import factories as f
from tests.support.cli import NOW


@pytest.fixture
def workspace(db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    """Two accounts, A1 and B2, and the CLI pointed at them with a fixed "now"."""
    monkeypatch.setenv("DATABASE_URL", db.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("REBUY_NOW", NOW)
    with db.transaction() as session:
        f.account(session, "Acme", external_id="A1")
        f.account(session, "Beta Supply", external_id="B2")
    return db
