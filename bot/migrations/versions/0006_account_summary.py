"""account_summary: per-account purchase facts kept up to date on write; an index on
order.ordered_at for the orders near a window's edges

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 13:40:00

Additive: a new table, filled from the existing orders, and a new index.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "account_summary",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("first_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_at", models.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("occasions", sa.Integer(), nullable=False),
        sa.Column("last_row_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("credit_rows", sa.Integer(), nullable=False),
        sa.Column("zero_rows", sa.Integer(), nullable=False),
        sa.Column("total_cents", sa.BigInteger(), nullable=False),
        sa.Column("median_gap_days", sa.Float(), nullable=True),
        sa.Column("windows_on", sa.Date(), nullable=False),
        sa.Column("value_6m_cents", sa.BigInteger(), nullable=False),
        sa.Column("value_12m_cents", sa.BigInteger(), nullable=False),
        sa.Column("value_24m_cents", sa.BigInteger(), nullable=False),
        sa.Column("occasions_24m", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_index("ix_account_summary_windows_on", "account_summary", ["windows_on"])
    op.create_index("ix_order_ordered_at", "order", ["ordered_at"])
    # Filled with the same set-based refresh the writers use.
    from bot.retention.summary import refresh_summary

    refresh_summary(op.get_bind(), None, today=datetime.now(UTC).date())


def downgrade() -> None:
    op.drop_index("ix_order_ordered_at", table_name="order")
    op.drop_index("ix_account_summary_windows_on", table_name="account_summary")
    op.drop_table("account_summary")
