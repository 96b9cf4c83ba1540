"""account_names_stamp: a token that changes with the account names, kept by triggers

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 17:00:00

The look-up keeps every live account's name in memory with a candidate index for typos
(bot/retention/name_index.py) and rebuilds it when this token moves. Triggers on
`account` replace the token when an account is added or deleted, or its name,
normalised name, CRM id or archived flag changes, so every writer (importer, CRM sync,
demo, anything else) keeps it right. On PostgreSQL the token is the transaction id,
written once per transaction (a bulk import does not update the one row a hundred
thousand times); inserts and deletes fire once per statement, updates only for rows
whose name, CRM id or archived flag changed. SQLite has row triggers only, each writing
a random token (about 0.3 s of CPU per 100,000 accounts inserted).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_BUMP = """
    UPDATE account_names_stamp SET token = lower(hex(randomblob(16))) WHERE id = 1;
    INSERT INTO account_names_stamp (id, token)
        SELECT 1, lower(hex(randomblob(16)))
        WHERE NOT EXISTS (SELECT 1 FROM account_names_stamp WHERE id = 1);
"""
_SQLITE_CHANGED = """
    OLD.name IS NOT NEW.name OR OLD.name_key IS NOT NEW.name_key
    OR OLD.external_id IS NOT NEW.external_id
    OR (OLD.archived_at IS NULL) IS NOT (NEW.archived_at IS NULL)
"""

_PG_FUNCTION = """
CREATE FUNCTION account_names_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO account_names_stamp (id, token) VALUES (1, txid_current()::text)
    ON CONFLICT (id) DO UPDATE SET token = EXCLUDED.token
    WHERE account_names_stamp.token IS DISTINCT FROM EXCLUDED.token;
    RETURN NULL;
END
$$
"""
_PG_CHANGED = """
    OLD.name IS DISTINCT FROM NEW.name OR OLD.name_key IS DISTINCT FROM NEW.name_key
    OR OLD.external_id IS DISTINCT FROM NEW.external_id
    OR (OLD.archived_at IS NULL) <> (NEW.archived_at IS NULL)
"""
# Inserts and deletes: once per statement (no transition table to fill: a statement that
# touched no row only costs one needless rebuild). Updates: per changed row, filtered by
# WHEN in the server, so writes that leave the names alone never call the function.
_PG_TRIGGERS = {
    "insert": "AFTER INSERT ON account FOR EACH STATEMENT",
    "delete": "AFTER DELETE ON account FOR EACH STATEMENT",
    "update": "AFTER UPDATE OF name, name_key, external_id, archived_at ON account "
    f"FOR EACH ROW WHEN ({_PG_CHANGED})",
}


def upgrade() -> None:
    op.create_table(
        "account_names_stamp",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for event, when in _PG_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER account_names_{event} {when} "
                "EXECUTE FUNCTION account_names_changed()"
            )
        op.execute("INSERT INTO account_names_stamp (id, token) VALUES (1, txid_current()::text)")
    else:
        op.execute(
            f"CREATE TRIGGER account_names_insert AFTER INSERT ON account BEGIN {_SQLITE_BUMP} END"
        )
        op.execute(
            f"CREATE TRIGGER account_names_delete AFTER DELETE ON account BEGIN {_SQLITE_BUMP} END"
        )
        op.execute(
            "CREATE TRIGGER account_names_update "
            "AFTER UPDATE OF name, name_key, external_id, archived_at ON account "
            f"WHEN {_SQLITE_CHANGED} BEGIN {_SQLITE_BUMP} END"
        )
        op.execute(
            "INSERT INTO account_names_stamp (id, token) VALUES (1, lower(hex(randomblob(16))))"
        )


def downgrade() -> None:
    for event in ("insert", "delete", "update"):
        op.execute(
            f"DROP TRIGGER IF EXISTS account_names_{event}"
            + (" ON account" if op.get_bind().dialect.name == "postgresql" else "")
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS account_names_changed()")
    op.drop_table("account_names_stamp")
