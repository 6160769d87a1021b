"""Cancelled cases, and an installation id that makes calendar UIDs unique per store.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28

- `cases.cancelled_at`, `cases.cancel_reason`: a withdrawn complaint is
  cancelled, not deleted; it leaves the open lists and stays in the history.
- `sopgen_meta.installation_id`: a random id, one per store, written into
  every calendar UID (`C-1001.intake.receive@<id>.sopgen`), so two
  repositories or a reset store never reuse a UID with SEQUENCE back at 0.
- `cases.legacy_uids`: true for the cases already in the store when this
  revision runs; their events keep the UIDs they were published with
  (`C-1001.intake.receive@sopgen`), so re-importing their calendars updates
  the events instead of duplicating them.
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("cancelled_at", sa.DateTime(timezone=True)))
    op.add_column("cases", sa.Column("cancel_reason", sa.Text))
    op.add_column(
        "cases",
        sa.Column("legacy_uids", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.execute(sa.text("UPDATE cases SET legacy_uids = :yes").bindparams(yes=True))
    op.execute(
        sa.text("INSERT INTO sopgen_meta (key, value) VALUES ('installation_id', :id)").bindparams(
            id=secrets.token_hex(8)
        )
    )


def downgrade() -> None:
    op.execute("DELETE FROM sopgen_meta WHERE key = 'installation_id'")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("legacy_uids")
        batch.drop_column("cancel_reason")
        batch.drop_column("cancelled_at")
