"""Alembic owns the schema version; sopgen 0.1 is told to stay away.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

sopgen 0.1 (and the desk's first version on main, which knew 2) checks only
`sopgen_meta.schema_version` and refuses a store whose number is higher than
its own ("a newer sopgen wrote it; upgrade sopgen"). Setting it to 3 makes
them refuse every store from here on; newer sopgens read `alembic_version`
instead and never change this row again.

A store that 0.1 made on PostgreSQL has `timestamp without time zone`
columns holding UTC; they become `timestamptz`, read as UTC.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIMES = {
    "case_notes": ["written_at"],
    "users": ["created_at"],
    "desk_sessions": ["created_at", "expires_at"],
    "sign_in_failures": ["last_at"],
    "sop_snapshots": ["stored_at"],
    "cases": ["received", "opened_at", "updated_at", "closed_at"],
    "completions": ["done_at", "recorded_at"],
    "calendar_events": ["modified_at"],
}


def upgrade() -> None:
    op.execute("UPDATE sopgen_meta SET value = '3' WHERE key = 'schema_version'")
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    inspector = sa.inspect(bind)
    for table, columns in TIMES.items():
        kinds = {c["name"]: c["type"] for c in inspector.get_columns(table)}
        for column in columns:
            if not getattr(kinds[column], "timezone", False):
                op.execute(
                    f'ALTER TABLE {table} ALTER COLUMN "{column}" TYPE timestamptz '
                    f"USING \"{column}\" AT TIME ZONE 'UTC'"
                )


def downgrade() -> None:
    op.execute("UPDATE sopgen_meta SET value = '2' WHERE key = 'schema_version'")
