"""Open cases by their next deadline: a partial index the lists read in order.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28

Every list of open cases (`case list` and its `--overdue`/`--due-within`
filters, the desk's lists, the reminder worker) asks for `closed_at IS NULL`
ordered by `(next_due, id)`, and pages with LIMIT. The index of revision 0006,
`(closed_at, next_due, id)`, served that on SQLite (it treats `IS NULL` as an
equality), but PostgreSQL does not: it read every open case through a bitmap
scan and sorted them (22 ms for the first page among 100,000 cases, growing
with the number of open cases). `ix_cases_open_next_due` holds only open
cases, in `(next_due, id)` order, so both databases read the first page of
the index and stop; it replaces `ix_cases_next_due`.

`ix_cases_open` on `closed_at` (revision 0001) becomes `ix_cases_closed`, of
closed cases only (the list of closed cases, newest first, reads it): with
statistics (ANALYZE) that say closing times are nearly unique, SQLite took
`closed_at IS NULL` on the old index for a handful of rows and sorted every
open case instead of reading the new index in order.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

OPEN = sa.text("closed_at IS NULL")
CLOSED = sa.text("closed_at IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_cases_open_next_due",
        "cases",
        ["next_due", "id"],
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )
    op.drop_index("ix_cases_next_due", table_name="cases")
    op.create_index(
        "ix_cases_closed", "cases", ["closed_at"], postgresql_where=CLOSED, sqlite_where=CLOSED
    )
    op.drop_index("ix_cases_open", table_name="cases")


def downgrade() -> None:
    op.create_index("ix_cases_open", "cases", ["closed_at"])
    op.drop_index("ix_cases_closed", table_name="cases")
    op.create_index("ix_cases_next_due", "cases", ["closed_at", "next_due", "id"])
    op.drop_index("ix_cases_open_next_due", table_name="cases")
