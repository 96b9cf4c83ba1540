"""account_plan_tactic: a plan's tactic ids as rows instead of one comma-separated column

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 17:00:00

Existing plans keep their tactics, in order: upgrade reads `account_plan.tactic_ids`,
drops the column and writes one row per id; downgrade joins the rows back into the
column. On SQLite the column is dropped before the child table exists, because a batch
operation re-creates `account_plan`, and with foreign keys on, dropping the old table
would cascade to the rows that reference it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_plan = sa.table("account_plan", sa.column("id", sa.Integer), sa.column("tactic_ids", sa.String))
_plan_tactic = sa.table(
    "account_plan_tactic",
    sa.column("account_plan_id", sa.Integer),
    sa.column("position", sa.Integer),
    sa.column("tactic_id", sa.String),
)


def upgrade() -> None:
    bind = op.get_bind()
    rows = [
        {"account_plan_id": plan_id, "position": position, "tactic_id": tactic_id}
        for plan_id, text in bind.execute(sa.select(_plan.c.id, _plan.c.tactic_ids))
        for position, tactic_id in enumerate(t for t in (text or "").split(",") if t)
    ]
    with op.batch_alter_table("account_plan") as batch:
        batch.drop_column("tactic_ids")
    op.create_table(
        "account_plan_tactic",
        sa.Column("account_plan_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("tactic_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["account_plan_id"], ["account_plan.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_plan_id", "position"),
    )
    if rows:
        bind.execute(_plan_tactic.insert(), rows)


def downgrade() -> None:
    bind = op.get_bind()
    ids: dict[int, list[str]] = {}
    for plan_id, tactic_id in bind.execute(
        sa.select(_plan_tactic.c.account_plan_id, _plan_tactic.c.tactic_id).order_by(
            _plan_tactic.c.account_plan_id, _plan_tactic.c.position
        )
    ):
        ids.setdefault(plan_id, []).append(tactic_id)
    op.drop_table("account_plan_tactic")
    with op.batch_alter_table("account_plan") as batch:
        batch.add_column(
            sa.Column("tactic_ids", sa.String(length=1000), nullable=False, server_default="")
        )
    with op.batch_alter_table("account_plan") as batch:
        batch.alter_column("tactic_ids", server_default=None)
    for plan_id, tactic_ids in ids.items():
        bind.execute(
            _plan.update().where(_plan.c.id == plan_id).values(tactic_ids=",".join(tactic_ids))
        )
