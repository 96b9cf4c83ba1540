"""Where the tests find PostgreSQL, and whether they must (REBUY_REQUIRE_POSTGRES=1 in CI)."""

from __future__ import annotations

import os

import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get(
    "REBUY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("REBUY_REQUIRE_POSTGRES") == "1"


def pg_reachable() -> str | None:
    """None when PostgreSQL answers, else the first line of the reason it does not."""
    try:
        engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as error:  # any failure means "not reachable" here
        return f"{type(error).__name__}: {error}".splitlines()[0]
