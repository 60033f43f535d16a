"""Opportunities (opportunities.json, Version 2021-07-28): one per analysed property.

An opportunity needs a `contactId`. `POST /opportunities/upsert` takes no custom fields (see
its `UpsertOpportunityDto`) and matches on pipeline + contact, so it finds "the" opportunity of
a contact only where a contact has one (a contact per property). Otherwise a deal is created
with `POST /opportunities/` once and updated with `PUT` after; when a create's outcome was
unknown, search looks for it — but GHL's search is index-backed and lags writes by a few
seconds (GHL's search guide), so the look waits `search_settle_seconds` first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ghl.models import Opportunity, Pipeline, UpsertOpportunityResult
from ghl.resources.base import Resource

SEARCH_PAGE_MAX = 100


class Opportunities(Resource):
    # How long a record may take to show in GHL's search ("a few seconds", GHL's search guide),
    # with margin: a look after an unknown outcome waits this long before trusting a miss.
    search_settle_seconds: float = 10.0

    def create(self, opportunity: dict[str, Any]) -> Opportunity:
        """Create; after a 5xx or lost response, look for it (same contact, pipeline, name)."""
        body = {"locationId": self.location_id, "status": "open", **opportunity}

        def find() -> dict[str, Any] | None:
            # The transport has already waited its backoff; waiting out the search lag here
            # keeps a just-made opportunity from being missed, and so made twice.
            self._t._sleep(self.search_settle_seconds)
            found = self.find(
                contact_id=body["contactId"], pipeline_id=body["pipelineId"], name=body["name"]
            )
            return {"opportunity": found.model_dump(by_alias=True)} if found else None

        data = self._t.create("/opportunities/", version=self.version, json=body, find=find)
        return Opportunity.model_validate(data["opportunity"])

    def create_once(
        self, opportunity: dict[str, Any], *, find: Callable[[dict[str, Any]], Opportunity]
    ) -> Opportunity:
        """Create; after a 5xx or lost response, `find(body)` returns the deal instead.

        For callers with a look-up that does not lag like search (e.g. the upsert of a contact's
        only opportunity): `find` returns what the first call made, or makes it.
        """
        body = {"locationId": self.location_id, "status": "open", **opportunity}

        def look() -> dict[str, Any]:
            return {"opportunity": find(body).model_dump(by_alias=True)}

        data = self._t.create("/opportunities/", version=self.version, json=body, find=look)
        return Opportunity.model_validate(data["opportunity"])

    def upsert(self, opportunity: dict[str, Any]) -> UpsertOpportunityResult:
        body = {
            "locationId": self.location_id,
            "followers": [],
            "isRemoveAllFollowers": False,
            "followersActionType": "add",
            **opportunity,
        }
        data = self._post("/opportunities/upsert", json=body, idempotent=True)
        return UpsertOpportunityResult.model_validate(data)

    def get(self, opportunity_id: str) -> Opportunity:
        return Opportunity.model_validate(
            self._get(f"/opportunities/{opportunity_id}")["opportunity"]
        )

    def update(self, opportunity_id: str, fields: dict[str, Any]) -> Opportunity:
        data = self._put(f"/opportunities/{opportunity_id}", json=fields)
        return Opportunity.model_validate(data["opportunity"])

    def update_status(self, opportunity_id: str, status: str) -> bool:
        data = self._put(f"/opportunities/{opportunity_id}/status", json={"status": status})
        return bool((data or {}).get("succeded", True))

    def search_page(
        self, *, page: int = 1, limit: int = SEARCH_PAGE_MAX, **filters: str | None
    ) -> tuple[list[Opportunity], int]:
        params: dict[str, Any] = {"location_id": self.location_id, "limit": limit, "page": page}
        params.update({k: v for k, v in filters.items() if v is not None})
        data = self._get("/opportunities/search", params=params)
        items = [Opportunity.model_validate(o) for o in data.get("opportunities", [])]
        total = int((data.get("meta") or {}).get("total", len(items)))
        return items, total

    def search(
        self, *, limit: int = SEARCH_PAGE_MAX, **filters: str | None
    ) -> Iterator[Opportunity]:
        """Every opportunity matching `filters` (q, pipeline_id, contact_id, status, ...)."""
        page = 1
        seen = 0
        while True:
            items, total = self.search_page(page=page, limit=limit, **filters)
            yield from items
            seen += len(items)
            if not items or len(items) < limit or seen >= total:
                return
            page += 1

    def find(self, *, contact_id: str, pipeline_id: str, name: str) -> Opportunity | None:
        """The opportunity with this exact name for this contact in this pipeline, if any."""
        for opp in self.search(contact_id=contact_id, pipeline_id=pipeline_id, q=name):
            if opp.name == name:
                return opp
        return None

    def pipelines(self) -> list[Pipeline]:
        data = self._get("/opportunities/pipelines", params={"locationId": self.location_id})
        return [Pipeline.model_validate(p) for p in data.get("pipelines", [])]
