"""Hot-deal workflow enrolments keyed by location (issue 14): `workflow:hot_deal:{mls_id}`
becomes `workflow:hot_deal:{location_id}:{mls_id}`, so each location drains only its own and
two locations' deals with one MLS id never stand for each other.

The location of an enrolment made before comes from the deal's opportunity link (an enrolment
is queued only after its deal's opportunity exists); an MLS id linked at several locations is
left as it was (it could not be told apart) and is reported by `dealfinder outbox`.

Revision ID: 0009_workflow_keys
Revises: 0008_location_leases
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_workflow_keys"
down_revision: str | Sequence[str] | None = "0008_location_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "workflow:hot_deal:"


def upgrade() -> None:
    conn = op.get_bind()
    links = conn.execute(sa.text("SELECT mls_id, location_id FROM opportunity_links")).all()
    places: dict[str, set[str]] = {}
    for mls_id, location_id in links:
        places.setdefault(mls_id, set()).add(location_id)
    items = conn.execute(sa.text("SELECT id, dedupe_key FROM outbox WHERE kind = 'workflow'")).all()
    for item_id, key in items:
        mls_id = key[len(OLD) :] if key.startswith(OLD) else None
        found = places.get(mls_id or "", set())
        if mls_id is None or len(found) != 1:
            continue
        (location_id,) = found
        conn.execute(
            sa.text("UPDATE outbox SET dedupe_key = :key WHERE id = :id"),
            {"key": f"{OLD}{location_id}:{mls_id}", "id": item_id},
        )


def downgrade() -> None:
    conn = op.get_bind()
    items = conn.execute(sa.text("SELECT id, dedupe_key FROM outbox WHERE kind = 'workflow'")).all()
    for item_id, key in items:
        rest = key[len(OLD) :]
        if key.startswith(OLD) and ":" in rest:
            conn.execute(
                sa.text("UPDATE outbox SET dedupe_key = :key WHERE id = :id"),
                {"key": OLD + rest.split(":", 1)[1], "id": item_id},
            )
