"""Slack deal cards kept current: the `card_refresh` table (changes marked, changes shown).

Revision ID: 0005_alert_queue
Revises: 0004_oauth
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_alert_queue"
down_revision: str | Sequence[str] | None = "0004_oauth"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "card_refresh",
        sa.Column("mls_id", sa.String(length=64), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("shown", sa.Integer(), nullable=False),
        sa.Column("dirty_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mls_id"),
    )
    op.create_index(op.f("ix_card_refresh_not_before"), "card_refresh", ["not_before"])


def downgrade() -> None:
    op.drop_index(op.f("ix_card_refresh_not_before"), table_name="card_refresh")
    op.drop_table("card_refresh")
