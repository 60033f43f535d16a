"""webhook_events by type and time: finding a recent reply another event path brought.

Revision ID: 0003_webhook_intake
Revises: 0002_optout
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_webhook_intake"
down_revision: str | Sequence[str] | None = "0002_optout"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_webhook_events_type_received", "webhook_events", ["type", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_events_type_received", table_name="webhook_events")
