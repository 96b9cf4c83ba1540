"""account_summary recomputed: a purchase occasion is a day with a positive order row

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 10:00:00

Data only, no schema change: the summary rows were counted with the old rule (a day
whose rows net positive), which dropped a purchase when a bigger credit landed the same
day. They are derived from the orders, which are untouched, so they are recomputed with
the same set-based refresh the writers use. Downgrade keeps the recomputed rows.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from bot.retention.summary import refresh_summary

    refresh_summary(op.get_bind(), None, today=datetime.now(UTC).date())


def downgrade() -> None:
    pass
