"""The schema revision this Rebuy needs, and the error a reader gets on a database at
another one. Kept apart from `bot.db` so a command that reads through the DB-API
(`rebuy report`) can check the revision without importing SQLAlchemy or Alembic."""

from __future__ import annotations

from bot.retention.errors import RebuyError

# How DATABASE_URL is written, for every message about one that cannot be used.
HOW_TO_WRITE_DATABASE_URL = (
    "write sqlite:///rebuy.db (a file in the working folder), sqlite:////var/lib/rebuy/"
    "rebuy.db (an absolute path: four slashes) or postgresql+psycopg://user:password@host/db"
)

# The Alembic head: bump with every new migration (a test checks it against Alembic).
SCHEMA_HEAD = "0011"


class SchemaOutOfDate(RebuyError):
    """The database was migrated to another revision than this Rebuy's (older, usually:
    Rebuy was upgraded and nothing has migrated the database since)."""

    def __init__(self, stored: str) -> None:
        self.stored = stored
        super().__init__(
            f"The database is at schema revision {stored} and this version of Rebuy "
            f"needs {SCHEMA_HEAD}: run `rebuy db upgrade` (once, as the admin), then try "
            "again."
        )
