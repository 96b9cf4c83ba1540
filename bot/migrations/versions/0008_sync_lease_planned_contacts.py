"""sync hardening: a lease per source, future-dated activities held, contacts archived

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 13:30:00

Additive only: two new tables, nullable contact columns, a sync_run counter that
starts at 0. Every existing contact stays live.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contact") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=128), nullable=True))
        batch.add_column(
            sa.Column("archived_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.create_index("ix_contact_external_id", ["external_id"], unique=False)
    with op.batch_alter_table("sync_run") as batch:
        batch.add_column(
            sa.Column("planned", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
    op.create_table(
        "sync_lease",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("host", sa.String(length=100), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("started_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )
    op.create_table(
        "sync_planned",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("touch_key", sa.String(length=160), nullable=False),
        sa.Column("due_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("row_json", sa.Text(), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "touch_key", name="uq_sync_planned_source_key"),
    )
    op.create_index("ix_sync_planned_due_at", "sync_planned", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_sync_planned_due_at", table_name="sync_planned")
    op.drop_table("sync_planned")
    op.drop_table("sync_lease")
    with op.batch_alter_table("sync_run") as batch:
        batch.drop_column("planned")
    with op.batch_alter_table("contact") as batch:
        batch.drop_index("ix_contact_external_id")
        batch.drop_column("archived_at")
        batch.drop_column("external_id")
