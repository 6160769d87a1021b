"""Electronic signature records and refused signings.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

Under `signatures: electronic` (sopgen.yaml) an SOP is signed by desk users with
`sopgen sign`; each signature is a record bound to the SOP's content, chained to
the SOP's previous record and signed with the desk's Ed25519 key
(`sopgen.signatures`). `signature_records` keeps each record's line exactly as
signed, append-only, unique per (sop, seq); `sopgen signatures export` writes
them to `signatures/SOP-ID.jsonl`. `signature_refusals` records every refused
attempt (a wrong password, an unknown or disabled login, a wait after repeated
failures).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "signature_records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sop", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("line", sa.Text, nullable=False),
        sa.Column("recorded_at", TIME, nullable=False),
        sa.UniqueConstraint("sop", "seq", name="uq_signature_records_sop_seq"),
    )
    op.create_table(
        "signature_refusals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("login", sa.String(64), nullable=False),
        sa.Column("sop", sa.String(64), nullable=False),
        sa.Column("meaning", sa.String(64), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("why", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("signature_refusals")
    op.drop_table("signature_records")
