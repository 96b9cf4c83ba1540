"""slack_request (replayed commands and interactions act once) and reaction_state
(reaction events applied in event order)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import models.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Two new tables; nothing existing changes, so no data can be lost.
    op.create_table(
        "slack_request",
        sa.Column("request_key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("received_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_key"),
    )
    op.create_table(
        "reaction_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("slack_user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("reaction", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("event_us", sa.BigInteger(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("updated_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "ts", "slack_user_id", "reaction", name="uq_reaction_state"),
    )


def downgrade() -> None:
    op.drop_table("reaction_state")
    op.drop_table("slack_request")
