"""Holds: the stretches of time a case waited on the customer, its clock stopped.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28

One row per hold, kept after the case resumes: the case's hold history. A
hold still running has no `resumed_at`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "case_holds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(64), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("held_at", TIME, nullable=False),
        sa.Column("resumed_at", TIME),
        sa.Column("reason", sa.Text),
        sa.Column("recorded_at", TIME, nullable=False),
        sa.Column("resume_recorded_at", TIME),
    )
    op.create_index("ix_case_holds_case_id", "case_holds", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_case_holds_case_id", "case_holds")
    op.drop_table("case_holds")
