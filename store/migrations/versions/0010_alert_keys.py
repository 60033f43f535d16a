"""Hot-deal Slack alerts and cards keyed by location (issue 14): the alert `slack:deal:{mls_id}`
becomes `slack:deal:{location_id}:{mls_id}` and the card's message map entry `deal:{mls_id}`
becomes `deal:{location_id}:{mls_id}`, so each location's poster drains only its own deals,
renders their cards with its own GHL token in its own channel, and two locations working the
same listing each have their own card.

An alert or card made before this revision takes its location from the deal's stored property
(an alert is queued only after its property is saved); one whose property is gone is left as it
was (`dealfinder outbox` still shows the alert).

Revision ID: 0010_alert_keys
Revises: 0009_workflow_keys
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_alert_keys"
down_revision: str | Sequence[str] | None = "0009_workflow_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "slack:deal:"
CARD = "deal:"


def upgrade() -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT mls_id, location_id FROM properties")).all()
    places: dict[str, str] = {str(mls_id): str(location_id) for mls_id, location_id in rows}
    items = conn.execute(
        sa.text("SELECT id, dedupe_key FROM outbox WHERE kind = 'slack_post'")
    ).all()
    for item_id, key in items:
        mls_id = key[len(OLD) :] if key.startswith(OLD) else None
        location_id = places.get(mls_id) if mls_id is not None else None
        if location_id is None:
            continue
        conn.execute(
            sa.text("UPDATE outbox SET dedupe_key = :key WHERE id = :id"),
            {"key": f"{OLD}{location_id}:{mls_id}", "id": item_id},
        )

    cards = conn.execute(sa.text("SELECT key FROM slack_messages")).scalars().all()
    for key in cards:
        mls_id = key[len(CARD) :] if key.startswith(CARD) else None
        location_id = places.get(mls_id) if mls_id is not None else None
        if location_id is not None:
            conn.execute(
                sa.text("UPDATE slack_messages SET key = :new WHERE key = :old"),
                {"new": f"{CARD}{location_id}:{mls_id}", "old": key},
            )


def downgrade() -> None:
    conn = op.get_bind()
    places = set(conn.execute(sa.text("SELECT location_id FROM properties")).scalars())
    items = conn.execute(
        sa.text("SELECT id, dedupe_key FROM outbox WHERE kind = 'slack_post'")
    ).all()
    for item_id, key in items:
        location_id, _, mls_id = key[len(OLD) :].partition(":")
        if key.startswith(OLD) and mls_id and location_id in places:
            conn.execute(
                sa.text("UPDATE outbox SET dedupe_key = :key WHERE id = :id"),
                {"key": OLD + mls_id, "id": item_id},
            )
    cards = conn.execute(sa.text("SELECT key FROM slack_messages")).scalars().all()
    for key in cards:
        location_id, _, mls_id = key[len(CARD) :].partition(":")
        if key.startswith(CARD) and mls_id and location_id in places:
            conn.execute(
                sa.text("UPDATE slack_messages SET key = :new WHERE key = :old"),
                {"new": CARD + mls_id, "old": key},
            )
