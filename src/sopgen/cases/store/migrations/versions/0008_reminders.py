"""Reminders: the e-mails of `sopgen remind`, each claimed and sent exactly once.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28

`key` (unique) names what a reminder is about (kind, case, step, recipient,
deadline), so two workers planning the same reminder make one row. The index
on (state, send_at) is what a worker's claim query walks.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(700), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("case_id", sa.String(64)),
        sa.Column("step", sa.String(200)),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("due_at", TIME),
        sa.Column("send_at", TIME, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("claimed_by", sa.String(100)),
        sa.Column("claimed_until", TIME),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("sent_at", TIME),
        sa.Column("error", sa.Text),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_index("ix_reminders_state_send_at", "reminders", ["state", "send_at"])


def downgrade() -> None:
    op.drop_table("reminders")
