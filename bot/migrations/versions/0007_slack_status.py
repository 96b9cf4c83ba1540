"""rep's Slack status (to suggest away days) and the away offer already made

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 09:00:00

Adds nullable columns only: no existing row changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rep") as batch:
        batch.add_column(sa.Column("status_emoji", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("status_text", sa.String(length=150), nullable=True))
        batch.add_column(
            sa.Column("status_expires_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("status_checked_at", models.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("away_offered_until", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rep") as batch:
        batch.drop_column("away_offered_until")
        batch.drop_column("status_checked_at")
        batch.drop_column("status_expires_at")
        batch.drop_column("status_text")
        batch.drop_column("status_emoji")
