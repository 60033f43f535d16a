"""Where a GHL request's bearer token comes from: a fixed token, or OAuth per location.

The transport asks its provider for a token before each request and tells it about a 401;
nothing above `ghl/` knows which kind of provider a client has.

    client = GHLClient(auth=StaticToken("pit-..."), location_id="loc_123")       # PIT
    client = GHLClient(auth=OAuthTokenProvider(...), location_id="loc_123")      # app install
"""

from __future__ import annotations

from typing import Protocol

from ghl.errors import GHLAuthError
from ghl.redact import register_secret


class TokenProvider(Protocol):
    """What the transport needs of a token source."""

    def token(self) -> str:
        """The bearer token to send now (renewed first when it is about to expire)."""
        ...

    def renew_after_401(self, rejected: str) -> bool:
        """GHL refused `rejected` with 401: get a new token if possible; True to retry once."""
        ...


class StaticToken:
    """A Private Integration Token (or the emulator's): never changes, never renewed."""

    def __init__(self, token: str) -> None:
        register_secret(token)
        self._token = token

    def token(self) -> str:
        return self._token

    def renew_after_401(self, rejected: str) -> bool:
        return False  # a PIT that GHL refuses is wrong or revoked: a person must replace it

    def __repr__(self) -> str:
        return "StaticToken(***)"


class GHLReinstallNeeded(GHLAuthError):
    """This location's OAuth tokens are gone for good (refresh refused, or app uninstalled):
    a person must install the app again at `/ghl/install`. Other locations are unaffected."""

    def __init__(self, location_id: str, reason: str) -> None:
        self.location_id = location_id
        self.reason = reason
        super().__init__(
            f"GHL app needs re-install at location {location_id}: {reason}", status=401
        )
