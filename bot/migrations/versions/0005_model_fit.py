"""re-buy model: order_feed (data cut-off per import) and model_fit (stored fits)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 12:00:00

Adds tables only: no existing row changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_feed",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("through", sa.Date(), nullable=False),
        sa.Column("finished_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_order_feed_finished_at", "order_feed", ["finished_at"])
    op.create_table(
        "model_fit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("r", sa.Float(), nullable=True),
        sa.Column("alpha", sa.Float(), nullable=True),
        sa.Column("a", sa.Float(), nullable=True),
        sa.Column("b", sa.Float(), nullable=True),
        sa.Column("log_likelihood", sa.Float(), nullable=True),
        sa.Column("cutoff", sa.Date(), nullable=False),
        sa.Column("accounts", sa.Integer(), nullable=False),
        sa.Column("repeaters", sa.Integer(), nullable=False),
        sa.Column("fit_seconds", sa.Float(), nullable=False),
        sa.Column("reliable", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("valuable_from", sa.Float(), nullable=True),
        sa.Column("result_json", sa.Text(), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_model_fit_created_at", "model_fit", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_model_fit_created_at", table_name="model_fit")
    op.drop_table("model_fit")
    op.drop_index("ix_order_feed_finished_at", table_name="order_feed")
    op.drop_table("order_feed")
