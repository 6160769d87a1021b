"""The history of step completions: every tick and reopen, kept after a reopen.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29

`case reopen` deletes a step's row in `completions`, so the store forgot that
the step had been done, and when. That let a back-dated hold through: tick a
step late, reopen it, put the case on hold from before its deadline (no
completion stood in the way any more) and tick it again at the first time, now
"on time". `step_history` keeps one row per tick and per reopen, with who did
it and when it was recorded; the dating rule of holds, resumes and priority
changes reads the latest completion time it holds.

The completions a store already holds are copied in as ticks (`via` =
`upgrade`, no actor: the store never knew who), so the rule holds for cases
opened before this revision too.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "step_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(64), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("step", sa.String(200), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("done_at", TIME, nullable=False),
        sa.Column("recorded_at", TIME, nullable=False),
        sa.Column("actor", sa.String(200)),
        sa.Column("via", sa.String(16)),
    )
    op.create_index("ix_step_history_case_id", "step_history", ["case_id"])
    # the completions so far, oldest record first (the history's order is its ids)
    op.execute(
        "INSERT INTO step_history (case_id, step, action, done_at, recorded_at, actor, via) "
        "SELECT case_id, step, 'done', done_at, recorded_at, NULL, 'upgrade' "
        "FROM completions ORDER BY recorded_at, case_id, step"
    )


def downgrade() -> None:
    op.drop_index("ix_step_history_case_id", "step_history")
    op.drop_table("step_history")
