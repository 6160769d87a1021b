"""Cases imported as history: no reminders for the steps already overdue when they came in.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

A team that imports its backlog of open complaints (`case import --history`,
a `history` column, or the API's `history` field) marks those cases so that
`sopgen remind` sends nothing for steps whose deadline had passed before the
case was entered; steps due later are reminded of as usual. Cases stored
before this revision are not history.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "cases", sa.Column("as_history", sa.Boolean, nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    # a plain DROP COLUMN (SQLite 3.35+): a batch copy of `cases` would be refused while
    # step_history's rows point at it
    op.execute("ALTER TABLE cases DROP COLUMN as_history")
