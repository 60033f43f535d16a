"""OAuth tokens for one GHL location: renewed before they expire, once across processes.

The provider keeps the location's grant in a vault (`store.oauth_tokens.TokenVault` in
production; any object with `read(key)` and `locked(key)` here) and renews under the grant's
lock, re-reading it first: whoever takes the lock second finds the token already renewed.

GHL's refresh tokens are single-use ("GHL as it really behaves", ghl-api README): once GHL
answers a refresh, only the new refresh token works, whether or not the answer arrived. So:
- a refresh that never left (connection refused) changes nothing: the old token still works;
- a refresh whose answer was lost is asked once more with the same refresh token. GHL
  documents no grace period for the old one, so this only helps when GHL never acted on the
  first request; when it did, GHL refuses it;
- a location minted from a company install is minted again from the company's token;
- otherwise the grant is marked "needs re-install" (once: the mark is made under the lock),
  `on_reinstall_needed` is told once, and calls for this location raise `GHLReinstallNeeded`.
  Other locations have their own grants and carry on.

    provider = OAuthTokenProvider(location_id="loc_1", app=oauth_app, vault=vault,
                                  on_reinstall_needed=lambda loc, why: post_ops(...))
    GHLClient(auth=provider, location_id="loc_1", ...)
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from ghl.auth import GHLReinstallNeeded
from ghl.errors import GHLServerError
from ghl.oauth import GHLOAuthAnswerLost, GHLOAuthApp, GHLOAuthError, OAuthTokens, wall_clock
from ghl.redact import register_secret

log = logging.getLogger("dealfinder.ghl.oauth")

ACTIVE, NEEDS_REINSTALL = "active", "needs_reinstall"
REFRESH_MARGIN_SECONDS = 300.0  # renew 5 minutes before GHL's expiry (tokens live ~24 h)
# How long a token read from the vault is used without looking again: an uninstall or a
# re-install made by another process reaches this one within a minute.
RECHECK_SECONDS = 60.0


def company_key(company_id: str) -> str:
    """The vault key of a company (agency) install's grant."""
    return f"company:{company_id}"


class GrantRecord(Protocol):
    """A stored grant as the provider reads it (`store.oauth_tokens.StoredGrant` fits)."""

    @property
    def company_id(self) -> str | None: ...
    @property
    def source(self) -> str: ...
    @property
    def access_token(self) -> str | None: ...
    @property
    def refresh_token(self) -> str | None: ...
    @property
    def expires_at(self) -> float: ...
    @property
    def status(self) -> str: ...
    @property
    def status_reason(self) -> str | None: ...


class HeldGrant(Protocol):
    @property
    def record(self) -> GrantRecord | None: ...

    def save(self, tokens: OAuthTokens, *, now: datetime) -> None: ...

    def mark(self, status: str, reason: str, *, now: datetime) -> bool: ...


class Vault(Protocol):
    def read(self, key: str) -> GrantRecord | None: ...

    def locked(self, key: str) -> contextlib.AbstractContextManager[HeldGrant]: ...


class OAuthTokenProvider:
    """`TokenProvider` for one location installed through OAuth."""

    def __init__(
        self,
        *,
        location_id: str,
        app: GHLOAuthApp,
        vault: Vault,
        clock: Callable[[], float] = wall_clock,
        margin: float = REFRESH_MARGIN_SECONDS,
        on_reinstall_needed: Callable[[str, str], None] | None = None,
    ) -> None:
        self.location_id = location_id
        self.app = app
        self.vault = vault
        self.clock = clock
        self.margin = margin
        self.on_reinstall_needed = on_reinstall_needed
        self._lock = threading.Lock()
        self._access: str | None = None
        self._expires_at = 0.0
        self._checked_at = 0.0

    def __repr__(self) -> str:
        return f"OAuthTokenProvider(location_id={self.location_id!r})"

    # -- TokenProvider --------------------------------------------------------------------

    def token(self) -> str:
        if (
            self._access
            and self._fresh(self._expires_at)
            and self.clock() - self._checked_at < RECHECK_SECONDS
        ):
            return self._access
        record = self._active(self.vault.read(self.location_id))
        if record.access_token and self._fresh(record.expires_at):
            return self._remember(record.access_token, record.expires_at)
        return self._renew(stale=record.access_token)

    def renew_after_401(self, rejected: str) -> bool:
        log.info("GHL refused the access token of %s (401); renewing once", self.location_id)
        return bool(self._renew(stale=rejected))

    # -- renewal --------------------------------------------------------------------------

    def _fresh(self, expires_at: float) -> bool:
        return expires_at - self.margin > self.clock()

    def _remember(self, access_token: str, expires_at: float) -> str:
        register_secret(access_token)
        self._access, self._expires_at = access_token, expires_at
        self._checked_at = self.clock()
        return access_token

    def _active(self, record: GrantRecord | None) -> GrantRecord:
        """`record` when it is an active grant; `GHLReinstallNeeded` otherwise."""
        if record is None:
            raise GHLReinstallNeeded(self.location_id, "the app was never installed here")
        if record.status != ACTIVE:
            raise GHLReinstallNeeded(
                self.location_id, record.status_reason or str(record.status).replace("_", " ")
            )
        return record

    def _renew(self, *, stale: str | None) -> str:
        """Renew unless someone else already has; returns the token to use."""
        with self._lock:
            dead: str | None = None
            # A company's token is taken before the location's lock: renewing it needs the
            # company row's lock, and on SQLite a second writer inside the first would wait
            # for itself.
            company_access = self._company_access()
            with self.vault.locked(self.location_id) as held:
                record = self._active(held.record)
                fresh = record.access_token != stale and self._fresh(record.expires_at)
                if record.access_token and fresh:
                    # renewed by another thread or process
                    return self._remember(record.access_token, record.expires_at)
                try:
                    tokens = self._obtain(record, company_access)
                except _GrantDead as exc:
                    dead = exc.reason
                    newly = held.mark(NEEDS_REINSTALL, dead, now=self._now())
                else:
                    held.save(tokens, now=self._now())
                    log.info("GHL access token of %s renewed", self.location_id)
                    return self._remember(tokens.access_token, tokens.expires_at)
            # The mark is committed once the lock is released; only the process that made it
            # tells the ops channel, so the alert goes out once.
            self._access = None
            log.error("GHL grant of %s is dead: %s", self.location_id, dead)
            if newly and self.on_reinstall_needed is not None:
                try:
                    self.on_reinstall_needed(self.location_id, dead)
                except Exception:
                    log.exception("could not report that %s needs a re-install", self.location_id)
            raise GHLReinstallNeeded(self.location_id, dead)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def _company_access(self) -> str | None:
        """The company install's access token when this location belongs to one, else None."""
        record = self.vault.read(self.location_id)
        if record is None or not record.company_id:
            return None
        company = self.vault.read(company_key(record.company_id))
        if company is None or company.status != ACTIVE:
            return None
        grant = CompanyGrant(
            company_id=record.company_id,
            app=self.app,
            vault=self.vault,
            clock=self.clock,
            margin=self.margin,
        )
        try:
            return grant.token()
        except GHLReinstallNeeded:
            return None

    def _obtain(self, record: GrantRecord, company_access: str | None) -> OAuthTokens:
        """New tokens for `record`, or `_GrantDead` when GHL will not give any."""
        if record.source == "company":
            return self._from_company(record, company_access)
        if not record.refresh_token:
            raise _GrantDead("no refresh token stored")
        try:
            return self._refresh(record.refresh_token)
        except _GrantDead:
            if company_access is None:
                raise
            log.warning("refresh of %s refused; minting from the company install", self.location_id)
            return self._from_company(record, company_access)

    def _refresh(self, refresh_token: str) -> OAuthTokens:
        try:
            return self.app.refresh(refresh_token)
        except (GHLOAuthAnswerLost, GHLServerError) as exc:
            # No answer, or a 5xx: GHL may or may not have rotated the tokens.
            log.warning(
                "refresh of %s: %s; asking again with the same refresh token",
                self.location_id,
                type(exc).__name__,
            )
        except GHLOAuthError as exc:
            raise _dead_or_config(exc, "GHL refused the refresh token") from None
        try:
            return self.app.refresh(refresh_token)
        except GHLOAuthError as exc:
            raise _dead_or_config(
                exc,
                "the refresh answer was lost and GHL refused the refresh token: it had "
                "already rotated it",
            ) from None

    def _from_company(self, record: GrantRecord, access: str | None) -> OAuthTokens:
        if not record.company_id or access is None:
            raise _GrantDead("the company install it came from is gone or needs a re-install")
        try:
            return self.app.location_token(
                access, company_id=record.company_id, location_id=self.location_id
            )
        except GHLOAuthError as exc:
            raise _GrantDead(f"GHL refused a location token ({exc.status})") from None


class CompanyGrant(OAuthTokenProvider):
    """The company (agency) install's own tokens, renewed the same way, under their own key."""

    def __init__(self, *, company_id: str, **kw: Any) -> None:
        super().__init__(location_id=company_key(company_id), **kw)

    def _company_access(self) -> str | None:
        return None

    def _obtain(self, record: GrantRecord, company_access: str | None) -> OAuthTokens:
        if not record.refresh_token:
            raise _GrantDead("no refresh token stored")
        return self._refresh(record.refresh_token)


def _dead_or_config(exc: GHLOAuthError, reason: str) -> Exception:
    """A refused token request: the grant is dead (400, `invalid_grant`), unless GHL refused
    DealFinder itself (401, `invalid_client`: RFC 6749 section 5.2), which a re-install would
    not fix and which must not mark every location: then the error goes up as it is."""
    if exc.status == 401:
        log.error(
            "GHL refused the app's client credentials: check GHL_CLIENT_ID and GHL_CLIENT_SECRET"
        )
        return exc
    return _GrantDead(f"{reason} ({exc.status})")


class _GrantDead(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
