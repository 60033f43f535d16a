"""The emulator's OAuth records: registered apps, codes, access and refresh tokens, a call log.

Kept apart from `State`'s CRM records; `State.oauth` holds one. Times are the emulator's clock
(epoch seconds), so freezegun moves expiry too.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

ACCESS_TOKEN_SECONDS = 86_399  # GHL: "expires_in": 86399 (oauth.json example)
CODE_SECONDS = 600
# The emulator's own app, valid against nothing but the emulator.
DEFAULT_CLIENT_ID = "emu-client-id"
DEFAULT_CLIENT_SECRET = "emu-client-secret"  # noqa: S105


@dataclass
class InstallChoice:
    """What the emulated user picks on GHL's location chooser (it approves by itself)."""

    user_type: str = "Location"  # or "Company"
    location_id: str | None = None  # None: the emulator's first location
    company_id: str = "comp_demo"
    locations: tuple[str, ...] = ()  # a company install's approved locations


@dataclass
class Grant:
    """Who a code or token stands for."""

    client_id: str
    user_type: str
    location_id: str | None
    company_id: str
    approved_locations: tuple[str, ...] = ()
    scope: str = ""


@dataclass
class AccessToken:
    grant: Grant
    expires_at: float


@dataclass
class OAuthRegistry:
    """Apps (client id -> secret), issued codes and tokens; refresh tokens are single-use."""

    apps: dict[str, str] = field(default_factory=lambda: {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET})
    choice: InstallChoice = field(default_factory=InstallChoice)
    access_seconds: int = ACCESS_TOKEN_SECONDS
    codes: dict[str, tuple[Grant, float, str]] = field(
        default_factory=dict
    )  # code -> grant, exp, uri
    access: dict[str, AccessToken] = field(default_factory=dict)
    refresh: dict[str, Grant] = field(default_factory=dict)
    used_refresh: set[str] = field(default_factory=set)
    calls: list[dict[str, Any]] = field(default_factory=list)  # grant types and outcomes
    lock: threading.RLock = field(default_factory=threading.RLock)

    def new_code(self, grant: Grant, *, now: float, redirect_uri: str) -> str:
        code = secrets.token_hex(16)
        self.codes[code] = (grant, now + CODE_SECONDS, redirect_uri)
        return code

    def issue(self, grant: Grant, *, now: float, with_refresh: bool = True) -> dict[str, Any]:
        """New tokens for `grant`, as GHL's token answer."""
        access = "emu-at-" + secrets.token_hex(20)
        self.access[access] = AccessToken(grant, now + self.access_seconds)
        answer: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.access_seconds,
            "scope": grant.scope,
            "userType": grant.user_type,
            "companyId": grant.company_id,
            "userId": "emu-installer",
        }
        if with_refresh:
            refresh = "emu-rt-" + secrets.token_hex(20)
            self.refresh[refresh] = grant
            answer["refresh_token"] = refresh
        if grant.location_id:
            answer["locationId"] = grant.location_id
        if grant.user_type == "Company":
            answer["approvedLocations"] = list(grant.approved_locations)
            answer["isBulkInstallation"] = True
        return answer

    def location_for(self, token: str, *, now: float) -> str | None:
        """The location a valid, unexpired location access token reaches; else None."""
        grant = self.grant_for(token, now=now)
        return grant.location_id if grant else None

    def grant_for(self, token: str, *, now: float) -> Grant | None:
        """The location grant of a valid, unexpired location access token; else None."""
        with self.lock:
            found = self.access.get(token)
        if found is None or found.expires_at <= now or found.grant.user_type != "Location":
            return None
        return found.grant

    def expire(self, token: str | None = None) -> int:
        """Make one access token (or all) expired now, for tests; returns how many."""
        with self.lock:
            chosen = [token] if token else list(self.access)
            for name in chosen:
                if name in self.access:
                    self.access[name].expires_at = 0.0
            return len(chosen)

    def count(self, grant_type: str, outcome: str | None = None) -> int:
        """How many token requests of `grant_type` (optionally with `outcome`) were made."""
        with self.lock:
            return sum(
                1
                for c in self.calls
                if c["grant_type"] == grant_type and outcome in (None, c["outcome"])
            )
