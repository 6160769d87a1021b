"""The desk: users, signed-in sessions, failed sign-ins, notes on cases.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Before Alembic, the desk's first version on main called this layout
`sopgen_meta.schema_version` = 2; such a store is stamped with this revision
by `sopgen db upgrade`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(64), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("author", sa.String(64), nullable=False),
        sa.Column("written_at", TIME, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index("ix_case_notes_case_id", "case_notes", ["case_id"])
    op.create_table(
        "users",
        sa.Column("login", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("feed_token_hash", sa.String(64), unique=True),
        sa.Column("api_token_hash", sa.String(64), unique=True),
        sa.Column("created_at", TIME, nullable=False),
    )
    op.create_table(
        "desk_sessions",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("login", sa.String(64), sa.ForeignKey("users.login"), nullable=False),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
    )
    op.create_index("ix_desk_sessions_login", "desk_sessions", ["login"])
    op.create_table(
        "sign_in_failures",
        sa.Column("login", sa.String(64), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("last_at", TIME, nullable=False),
    )


def downgrade() -> None:
    for table in ("sign_in_failures", "desk_sessions", "users", "case_notes"):
        op.drop_table(table)
