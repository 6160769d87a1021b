"""Calendar-feed links derived from the server's secret key: a generation per user.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28

A feed token is now HMAC(secret key, installation id, login, generation)
(`sopgen.cases.service.secretkey`), so My work can show it on every visit while the
store keeps only its hash. Existing users start at generation 0; a feed token
they were issued earlier (random) keeps working until they get a new link.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "users",
        sa.Column("feed_generation", sa.Integer, nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("feed_generation")
