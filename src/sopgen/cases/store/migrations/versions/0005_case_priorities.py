"""Priorities: the priority history of each case.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28

One row per priority a case was given, from when: at `case open --priority`
(from the received time) and at every `case priority` change. A case without
rows has the default priority, `normal`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "case_priorities",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(64), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("priority", sa.String(64), nullable=False),
        sa.Column("since", TIME, nullable=False),
        sa.Column("recorded_at", TIME, nullable=False),
    )
    op.create_index("ix_case_priorities_case_id", "case_priorities", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_case_priorities_case_id", "case_priorities")
    op.drop_table("case_priorities")
