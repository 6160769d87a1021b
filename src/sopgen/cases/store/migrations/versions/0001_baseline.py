"""The case store of sopgen 0.1: cases, completions, calendar state, SOP snapshots.

Revision ID: 0001
Revises:
Create Date: 2026-11-28

A store that sopgen 0.1 created has exactly these tables (and
`sopgen_meta.schema_version` = 1) but no `alembic_version`; `sopgen db
upgrade` stamps it with this revision and carries on from here. Times are
`timestamptz` on PostgreSQL and DATETIME text in UTC on SQLite.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sopgen_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )
    op.create_table(
        "sop_snapshots",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("sop_id", sa.String(100), nullable=False),
        sa.Column("version", sa.String(50), nullable=False),
        sa.Column("file", sa.String(500), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("stored_at", TIME, nullable=False),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("folder", sa.String(64), nullable=False, unique=True),
        sa.Column("sop_id", sa.String(100), nullable=False),
        sa.Column("sop_version", sa.String(50), nullable=False),
        sa.Column("snapshot", sa.String(64), sa.ForeignKey("sop_snapshots.digest"), nullable=False),
        sa.Column("received", TIME, nullable=False),
        sa.Column("assignee", sa.String(200)),
        sa.Column("summary", sa.Text),
        sa.Column("opened_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("closed_at", TIME),
    )
    op.create_index("ix_cases_open", "cases", ["closed_at"])
    op.create_index("ix_cases_assignee", "cases", ["assignee"])
    op.create_table(
        "completions",
        sa.Column("case_id", sa.String(64), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("step", sa.String(200), primary_key=True),
        sa.Column("done_at", TIME, nullable=False),
        sa.Column("recorded_at", TIME, nullable=False),
    )
    op.create_table(
        "calendar_events",
        sa.Column("case_id", sa.String(64), sa.ForeignKey("cases.id"), primary_key=True),
        sa.Column("step", sa.String(200), primary_key=True),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("fingerprint", sa.String(200), nullable=False),
        sa.Column("modified_at", TIME, nullable=False),
    )
    op.execute("INSERT INTO sopgen_meta (key, value) VALUES ('schema_version', '1')")


def downgrade() -> None:
    for table in ("calendar_events", "completions", "cases", "sop_snapshots", "sopgen_meta"):
        op.drop_table(table)
