"""The `state` of each GHL install attempt: random, kept server-side (its SHA-256), expiring,
usable once. It binds the OAuth callback to an install this server started (CSRF).

    remember_state(session=s, state=state, now=now, ttl=timedelta(minutes=10))
    consume_state(session=s, state=received, now=now)   # True once, then False
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col

from store.db import rows_affected
from store.models_oauth import OAuthState


def state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def remember_state(*, session: Session, state: str, now: datetime, ttl: timedelta) -> None:
    """Keep a new install attempt's state; old expired ones are swept on the way."""
    session.execute(delete(OAuthState).where(col(OAuthState.expires_at) < now - timedelta(days=1)))
    session.add(OAuthState(state_hash=state_hash(state), created_at=now, expires_at=now + ttl))


def consume_state(*, session: Session, state: str, now: datetime) -> bool:
    """Use `state` up: True when it was issued here, has not expired and was not used before.

    One conditional UPDATE, so two callbacks racing with the same state cannot both win.
    """
    result = session.execute(
        update(OAuthState)
        .where(
            col(OAuthState.state_hash) == state_hash(state),
            col(OAuthState.used_at).is_(None),
            col(OAuthState.expires_at) > now,
        )
        .values(used_at=now)
    )
    return rows_affected(result) == 1
