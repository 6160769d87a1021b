"""Open cases by their next deadline: a partial index the lists read in order.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28

Every list of open cases (`case list` and its `--overdue`/`--due-within`
filters, the desk's lists, the reminder worker) asks for `closed_at IS NULL`
ordered by `(next_due, id)`, and pages with LIMIT. The index of revision 0006,
`(closed_at, next_due, id)`, served that on SQLite (it treats `IS NULL` as an
equality), but PostgreSQL does not: it read every open case through a bitmap
scan and sorted them (22 ms for the first page among 100,000 cases, growing
with the number of open cases). `ix_cases_open_next_due` holds only open
cases, in `(next_due, id)` order, so both databases read the first page of
the index and stop; it replaces `ix_cases_next_due`, and closed cases cost
nothing in it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

OPEN = sa.text("closed_at IS NULL")


def upgrade() -> None:
    op.create_index(
        "ix_cases_open_next_due",
        "cases",
        ["next_due", "id"],
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )
    op.drop_index("ix_cases_next_due", table_name="cases")


def downgrade() -> None:
    op.create_index("ix_cases_next_due", "cases", ["closed_at", "next_due", "id"])
    op.drop_index("ix_cases_open_next_due", table_name="cases")
