"""What every resource module shares: the transport, the location, and the `Version` to send."""

from __future__ import annotations

from typing import Any

from ghl.transport import Transport

V2021_07_28 = "2021-07-28"  # every group's OpenAPI file but conversations
V2021_04_15 = "2021-04-15"  # conversations.json


class Resource:
    """One API group. Subclasses set `version` to what their OpenAPI file requires."""

    version = V2021_07_28

    def __init__(self, transport: Transport, location_id: str):
        self._t = transport
        self.location_id = location_id

    def _get(self, path: str, *, params: dict[str, Any] | None = None) -> Any:
        return self._t.request("GET", path, version=self.version, params=params, idempotent=True)

    def _put(self, path: str, *, json: Any) -> Any:
        return self._t.request("PUT", path, version=self.version, json=json, idempotent=True)

    def _post(self, path: str, *, json: Any, idempotent: bool) -> Any:
        return self._t.request("POST", path, version=self.version, json=json, idempotent=idempotent)

    def _delete(self, path: str, *, json: Any = None) -> Any:
        return self._t.request("DELETE", path, version=self.version, json=json, idempotent=True)
