"""Finding a property's GHL opportunity before anything is created: link, index, or search.

The store's link is the first answer. Without one (a new machine, a crash between create and
record), GHL is asked: by one search per property, or, when a batch has many unlinked
properties and the pipeline is young, by listing the pipeline once (`prefetch`) — whichever
costs fewer calls.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterator, Sequence

from sqlalchemy import Engine

from ghl.client import GHLClient
from ghl.errors import GHLNotFoundError
from ghl.models import Opportunity
from services.ghl_map import GHLMap
from services.pipeline.progress import unlinked_mls_ids
from services.pipeline.rules import NAME_SEPARATOR, is_named_for
from services.property import PropertyRecord
from store.models import OpportunityLink

log = logging.getLogger("dealfinder.pipeline")

SEARCH_PAGE = 100  # opportunities per search page (the `limit` maximum in opportunities.json)


class OpportunityLookup:
    """Answers "does GHL already have this property's deal?" for one location and pipeline."""

    def __init__(self, *, client: GHLClient, engine: Engine, ghl_map: GHLMap) -> None:
        self.client, self.engine, self.ghl_map = client, engine, ghl_map
        self._index: dict[str, Opportunity] | None = None  # MLS id -> opportunity

    def prefetch(self, records: Sequence[PropertyRecord]) -> None:
        """Index the pipeline's opportunities by MLS id, if that costs fewer calls.

        Each property the store has no link for costs one search; listing the pipeline costs
        one call per 100 opportunities, and its first page says how many there are.
        """
        self._index = None
        if self.ghl_map.opportunity_contact == "per_property":
            return  # the pipeline's upsert finds a listing's deal without search
        unlinked = unlinked_mls_ids(
            self.engine,
            location_id=self.client.location_id,
            mls_ids=[r.mls_id for r in records],
        )
        if not unlinked:
            return
        pipeline_id = self.ghl_map.pipeline_id
        first, total = self.client.opportunities.search_page(pipeline_id=pipeline_id)
        if math.ceil(total / SEARCH_PAGE) - 1 >= len(unlinked):
            return
        index: dict[str, Opportunity] = {}
        for opp in itertools.chain(first, self._later_pages(pipeline_id, total)):
            mls_id = (opp.name or "").split(NAME_SEPARATOR, 1)[0]
            if is_named_for(opp.name, mls_id):
                index.setdefault(mls_id, opp)
        self._index = index

    def _later_pages(self, pipeline_id: str, total: int) -> Iterator[Opportunity]:
        for page in range(2, math.ceil(total / SEARCH_PAGE) + 1):
            items, _ = self.client.opportunities.search_page(pipeline_id=pipeline_id, page=page)
            yield from items

    def find(
        self, record: PropertyRecord, link: OpportunityLink | None
    ) -> tuple[Opportunity | None, bool]:
        """The property's opportunity if GHL has it, and whether it came through our link."""
        if link is not None:
            try:
                return self.client.opportunities.get(link.opportunity_id), True
            except GHLNotFoundError:
                log.warning("opportunity of %s was deleted in GHL; looking again", record.mls_id)
        if self._index is not None:
            return self._index.get(record.mls_id), False
        if self.ghl_map.opportunity_contact == "per_property":
            # No search (it lags writes): the listing's own contact has one opportunity, which
            # the pipeline's upsert by pipeline + contact finds or makes.
            return None, False
        found = self.client.opportunities.search(
            q=record.mls_id, pipeline_id=self.ghl_map.pipeline_id
        )
        return next((o for o in found if is_named_for(o.name, record.mls_id)), None), False

    def remember(self, mls_id: str, opp: Opportunity) -> None:
        """Keep the prefetched index true after creating an opportunity."""
        if self._index is not None:
            self._index[mls_id] = opp
