"""Locations: each GHL location served, its status and its setting overrides.

Revision ID: 0007_locations
Revises: 0006_people
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_locations"
down_revision: str | Sequence[str] | None = "0006_people"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "locations",
        sa.Column("location_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("location_id"),
    )


def downgrade() -> None:
    op.drop_table("locations")
