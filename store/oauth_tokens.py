"""GHL OAuth grants at rest: Fernet-encrypted tokens, read and renewed under a row lock.

`TokenVault.locked(key)` opens a transaction holding the grant's row (PostgreSQL
`SELECT ... FOR UPDATE`; SQLite's `BEGIN IMMEDIATE` takes the database's write lock) and
re-reads it, so of several threads or processes that find a token about to expire, the first
renews it and the others find the new one when the lock is theirs: one refresh per grant.

    vault = TokenVault(engine, fernet_key)
    vault.save_grant(key="loc_1", kind="location", location_id="loc_1", tokens=tokens, now=now)
    with vault.locked("loc_1") as held:
        if held.record and held.record.expires_at < soon:
            held.save(new_tokens, now=now)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import Engine
from sqlmodel import Session, select

from store.db import session_scope
from store.models_oauth import GrantStatus, OAuthGrant


def make_fernet(key: str) -> Fernet:
    """The cipher for DEALFINDER_SECRET_KEY; ValueError when the key is not a Fernet key."""
    try:
        return Fernet(key.encode() if isinstance(key, str) else key)
    except (ValueError, TypeError):
        raise ValueError(
            "not a Fernet key (32 url-safe base64-encoded bytes); make one with "
            '`python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"`'
        ) from None


class TokensLike(Protocol):
    """What a token answer offers (`ghl.oauth.OAuthTokens`, a frozen dataclass, fits)."""

    @property
    def access_token(self) -> str: ...
    @property
    def refresh_token(self) -> str | None: ...
    @property
    def expires_at(self) -> float: ...
    @property
    def scope(self) -> str: ...


@dataclass(frozen=True)
class StoredGrant:
    """A grant as read from the store, tokens decrypted (never logged: no tokens in repr)."""

    key: str
    kind: str
    location_id: str | None
    company_id: str | None
    source: str
    access_token: str | None
    refresh_token: str | None
    expires_at: float
    status: str
    status_reason: str | None

    def __repr__(self) -> str:
        return f"StoredGrant(key={self.key!r}, status={self.status!r})"


class LockedGrant:
    """A grant's row held for this transaction: `record`, `save(...)`, `mark(...)`."""

    def __init__(self, vault: TokenVault, session: Session, row: OAuthGrant | None) -> None:
        self._vault, self._session, self._row = vault, session, row
        self.record = vault._decode(row) if row is not None else None

    def save(self, tokens: TokensLike, *, now: datetime) -> None:
        """Store renewed tokens (a refresh token that did not come back is kept)."""
        row = self._row
        if row is None:
            raise LookupError("no grant to renew")
        self._vault._encode_into(row, tokens)
        row.refreshed_at = row.updated_at = now
        self._session.add(row)
        self.record = self._vault._decode(row)

    def mark(self, status: GrantStatus | str, reason: str, *, now: datetime) -> bool:
        """Set the grant's status; True only when it changed (so one process alerts)."""
        row = self._row
        if row is None or row.status == status:
            return False
        row.status, row.status_reason, row.updated_at = status, reason, now
        self._session.add(row)
        self.record = self._vault._decode(row)
        return True


class TokenVault:
    """Encrypted grants in `ghl_oauth_grants`, keyed by location id or ``company:<id>``."""

    def __init__(self, engine: Engine, fernet_key: str) -> None:
        self.engine = engine
        self._fernet = make_fernet(fernet_key)

    # -- encryption ----------------------------------------------------------------------

    def _encrypt(self, value: str | None) -> str | None:
        return self._fernet.encrypt(value.encode()).decode() if value else None

    def _decrypt(self, value: str | None) -> str | None:
        if not value:
            return None
        try:
            return self._fernet.decrypt(value.encode()).decode()
        except InvalidToken:
            raise ValueError(
                "stored GHL tokens cannot be decrypted: DEALFINDER_SECRET_KEY is not the key "
                "they were stored with (restore it, or install the app again)"
            ) from None

    def _encode_into(self, row: OAuthGrant, tokens: TokensLike) -> None:
        row.access_token_enc = self._encrypt(tokens.access_token)
        if tokens.refresh_token:
            row.refresh_token_enc = self._encrypt(tokens.refresh_token)
        row.expires_at = datetime.fromtimestamp(tokens.expires_at, UTC)
        row.scope = tokens.scope or row.scope

    def _decode(self, row: OAuthGrant) -> StoredGrant:
        return StoredGrant(
            key=row.key,
            kind=row.kind,
            location_id=row.location_id,
            company_id=row.company_id,
            source=row.source,
            access_token=self._decrypt(row.access_token_enc),
            refresh_token=self._decrypt(row.refresh_token_enc),
            expires_at=row.expires_at.timestamp() if row.expires_at else 0.0,
            status=row.status,
            status_reason=row.status_reason,
        )

    # -- reading and writing -------------------------------------------------------------

    def read(self, key: str) -> StoredGrant | None:
        with session_scope(self.engine, readonly=True) as session:
            row = session.get(OAuthGrant, key)
            return self._decode(row) if row is not None else None

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[LockedGrant]:
        """The grant's row, locked until the block ends (committed then, rolled back on error)."""
        with session_scope(self.engine) as session:
            row = session.exec(
                select(OAuthGrant).where(OAuthGrant.key == key).with_for_update()
            ).first()
            yield LockedGrant(self, session, row)

    def save_grant(
        self,
        *,
        key: str,
        kind: str,
        tokens: TokensLike,
        now: datetime,
        location_id: str | None = None,
        company_id: str | None = None,
        source: str = "oauth",
    ) -> None:
        """Store a new install's tokens (replacing whatever the key held: a re-install)."""
        with session_scope(self.engine) as session:
            row = session.exec(
                select(OAuthGrant).where(OAuthGrant.key == key).with_for_update()
            ).first()
            if row is None:
                row = OAuthGrant(key=key, kind=kind, created_at=now)
            row.kind, row.location_id, row.company_id, row.source = (
                kind,
                location_id,
                company_id,
                source,
            )
            row.refresh_token_enc = None
            self._encode_into(row, tokens)
            row.status, row.status_reason = GrantStatus.ACTIVE, None
            row.refreshed_at, row.updated_at = None, now
            session.add(row)

    def disable(self, key: str, *, status: GrantStatus, reason: str, now: datetime) -> bool:
        """Forget a grant's tokens and set its status (uninstall); True when it changed."""
        with self.locked(key) as held:
            row = held._row
            if row is None:
                return False
            changed = row.status != status
            row.access_token_enc = row.refresh_token_enc = None
            row.status, row.status_reason, row.updated_at = status, reason, now
            held._session.add(row)
            return changed

    def status_of(self, key: str) -> str | None:
        with session_scope(self.engine, readonly=True) as session:
            row = session.get(OAuthGrant, key)
            return row.status if row is not None else None
