"""A user's open cases in deadline order: the desk's My work at 50,000 cases.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07

My work pages a user's open cases, soonest next deadline first, and counts
them. `ix_cases_assignee` found the user's cases, but each had to be read to
drop the closed ones and sort the rest by deadline (25,000 cases of one rep:
every page read them all). `ix_cases_open_assignee` holds only open cases, by
`(assignee, next_due, id)`: the page reads 50 entries in order and the count
reads the index alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

OPEN = sa.text("closed_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_cases_open_assignee",
        "cases",
        ["assignee", "next_due", "id"],
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("ix_cases_open_assignee", table_name="cases")
