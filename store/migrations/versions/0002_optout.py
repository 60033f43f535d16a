"""Possible opt-outs waiting for a person (texting to the buyer paused), and who decided.

Revision ID: 0002_optout
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_optout"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "optout_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=255), nullable=False),
        sa.Column("contact_id", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=True),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("why", sa.String(), nullable=True),
        sa.Column("mls_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decide_by", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_role", sa.String(length=16), nullable=True),
        sa.Column("slack_channel", sa.String(length=64), nullable=True),
        sa.Column("slack_ts", sa.String(length=32), nullable=True),
        sa.Column("post_claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key", name="uq_optout_reviews_dedupe_key"),
    )
    op.create_index("ix_optout_reviews_contact_status", "optout_reviews", ["contact_id", "status"])
    op.create_index("ix_optout_reviews_status_decide_by", "optout_reviews", ["status", "decide_by"])


def downgrade() -> None:
    op.drop_index("ix_optout_reviews_status_decide_by", table_name="optout_reviews")
    op.drop_index("ix_optout_reviews_contact_status", table_name="optout_reviews")
    op.drop_table("optout_reviews")
