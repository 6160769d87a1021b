"""Cases keep their next deadline, so `case list` sorts and pages in the database.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28

`cases.next_due` is the deadline of the case's open step due first (NULL for a
closed case). Listing 100,000 cases then reads one page through the index
`ix_cases_next_due` instead of planning every open case. Cases opened before
this revision get their next_due computed by sopgen the first time cases are
listed (that needs the SOP snapshots and the business calendar, which a
migration does not have).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("next_due", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_cases_next_due", "cases", ["closed_at", "next_due", "id"])


def downgrade() -> None:
    op.drop_index("ix_cases_next_due", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("next_due")
