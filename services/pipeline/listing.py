"""A listing's deal on a contact of its own ("per_property"): made once, found without search.

The listing's contact (keyed by the MLS id) carries one opportunity in the pipeline, so what
GHL offers besides its search (which lags writes by a few seconds) is enough to never make it
twice: `POST /opportunities/upsert` matches on pipeline + contact, and where the location keeps
GHL's default of one open opportunity per contact, a second create is refused with 400 "Can not
create duplicate opportunity for the contact".

    deal, created = ListingDeals(client=client, ghl_map=ghl_map).create(body)

- Location allows one open opportunity per contact (GHL's default): one `POST /opportunities/`
  with everything. After a lost answer or a 5xx, or when GHL answers "duplicate" (an earlier
  run or machine made it), the upsert with pipeline + contact + name fetches it — or makes it,
  if the first create never happened, and a PUT fills it in.
- Location allows several: a create could not be told apart from a second one, so the upsert
  finds or makes it first (name only: an existing deal's stage and fields are not reset), and
  a new one is filled in by a PUT.
A deal the name-only upsert made but no PUT filled in (no value, no custom fields: its answer
was lost, or the run died) is filled in when found, as if just made.
"""

from __future__ import annotations

from typing import Any

from ghl.client import GHLClient
from ghl.errors import GHLBadRequestError
from ghl.models import Opportunity
from services.ghl_map import GHLMap

DUPLICATE = "duplicate opportunity"


class ListingDeals:
    """Creates one listing's opportunity on its own contact, at most once."""

    def __init__(self, *, client: GHLClient, ghl_map: GHLMap) -> None:
        self.client, self.ghl_map = client, ghl_map

    def create(self, body: dict[str, Any]) -> tuple[Opportunity, bool]:
        """The deal and True when this call made it; an existing one and False."""
        if self.ghl_map.allow_duplicate_opportunity:
            return self._upsert_then_fill(body)
        try:
            return self.client.opportunities.create_once(body, find=self._fetch), True
        except GHLBadRequestError as exc:
            if DUPLICATE not in str(exc).lower():
                raise
        # GHL says the listing's contact has its open deal already (an earlier run made it).
        return self._upsert_then_fill(body)

    def _fetch(self, body: dict[str, Any]) -> Opportunity:
        """After an unknown outcome: the deal the create made, else made now."""
        deal, _created = self._upsert_then_fill(body)
        return deal

    def _upsert_then_fill(self, body: dict[str, Any]) -> tuple[Opportunity, bool]:
        found = self.client.opportunities.upsert(_key(body))
        if not found.new and not _unfilled(found.opportunity):
            return found.opportunity, False
        # New, or made by an upsert whose answer was lost (the transport repeated it, and the
        # repeat found it): bare either way, so it is ours to fill in.
        rest = {k: v for k, v in body.items() if k not in ("pipelineId", "contactId", "locationId")}
        return self.client.opportunities.update(found.opportunity.id, rest), True


def _unfilled(opp: Opportunity) -> bool:
    """Made by the name-only upsert and never filled in: no value and no custom fields."""
    return opp.monetary_value is None and not opp.custom_fields


def _key(body: dict[str, Any]) -> dict[str, Any]:
    return {"pipelineId": body["pipelineId"], "contactId": body["contactId"], "name": body["name"]}
