"""Users (users.json, Version 2021-07-28): the location's staff, for owners and task assignees.

`GET /users/` is deprecated in users.json ("Use Search Users instead"); `GET /users/search`
needs the company id, which is the location's `companyId` (GET /locations/{id}). The
deprecated call is the fallback when search is refused (401/403/404: a token without the
company-level view, an account where search is not offered) or the location has no company.
"""

from __future__ import annotations

import builtins  # `list` below is also this class's method
from typing import Any

from ghl.errors import GHLAuthError, GHLNotFoundError, GHLPermissionError
from ghl.models import Location, User
from ghl.resources.base import Resource

SEARCH_LIMIT = 100  # users per search page; a location's staff is rarely more than one page


class Users(Resource):
    """The location's users, by `GET /users/search` (company id from the location)."""

    _company_id: str | None = None
    used_fallback: bool = False  # the last list() came from the deprecated GET /users/

    def use_company(self, company_id: str | None) -> None:
        """Remember the location's `companyId` from a location read the caller already made."""
        self._company_id = company_id or ""

    def company_id(self) -> str | None:
        """The location's `companyId` (read once per client)."""
        if self._company_id is None:
            data = self._get(f"/locations/{self.location_id}")["location"]
            self._company_id = Location.model_validate(data).company_id or ""
        return self._company_id or None

    def list(self) -> list[User]:
        """Every user of the location: search first, the deprecated list only as a fallback."""
        company_id = self.company_id()
        if company_id:
            try:
                found = self._search(company_id)
            except (GHLAuthError, GHLPermissionError, GHLNotFoundError):
                pass  # refused for this token or account: the deprecated call still answers
            else:
                self.used_fallback = False
                return found
        self.used_fallback = True
        data = self._get("/users/", params={"locationId": self.location_id})
        return [User.model_validate(u) for u in data.get("users", [])]

    def _search(self, company_id: str) -> builtins.list[User]:
        users: builtins.list[User] = []
        skip = 0
        while True:
            params: dict[str, Any] = {
                "companyId": company_id,
                "locationId": self.location_id,
                "skip": str(skip),
                "limit": str(SEARCH_LIMIT),
            }
            data = self._get("/users/search", params=params) or {}
            page = [User.model_validate(u) for u in data.get("users", [])]
            users += page
            skip += len(page)
            total = int(data.get("count", len(users)))
            if not page or skip >= total:
                return users
