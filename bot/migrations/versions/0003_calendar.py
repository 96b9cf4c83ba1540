"""working days and away periods: rep country/subdivision, away_period

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns: every existing rep keeps the workspace's default country.
    with op.batch_alter_table("rep") as batch:
        batch.add_column(sa.Column("country", sa.String(length=2), nullable=True))
        batch.add_column(sa.Column("subdivision", sa.String(length=10), nullable=True))
    op.create_table(
        "away_period",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rep_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("cover_rep_id", sa.Integer(), nullable=True),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["rep_id"], ["rep.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["cover_rep_id"], ["rep.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_away_period_rep_id", "away_period", ["rep_id", "starts_on"])


def downgrade() -> None:
    op.drop_index("ix_away_period_rep_id", table_name="away_period")
    op.drop_table("away_period")
    with op.batch_alter_table("rep") as batch:
        batch.drop_column("subdivision")
        batch.drop_column("country")
