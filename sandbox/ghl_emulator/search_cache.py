"""Sorted contact-search hits kept between pages, for benchmarks over 100,000 contacts.

A full buyer sync asks `POST /contacts/search` 200 times with one filter and a moving
`searchAfter`; filtering and sorting every contact on each page would make the emulator, not
the client, the slowest part of `bench/sync.py`. With `EmulatorConfig.search_cache` on, the
sorted hits of one search are kept and each page is found by bisection. Off by default: a test
that changes `emulator.state` by hand would see stale hits. Any write through the API bumps
`State.generation`, which drops the kept hits; so does a contact still inside GHL's search lag
(its visibility changes with time alone, so nothing is kept until all are indexed).
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sandbox.ghl_emulator.state import Contact

Key = tuple[int, str]


@dataclass
class Hits:
    """One search's hits in ascending key order."""

    generation: int
    keys: list[Key]
    contacts: list[Contact]

    def page(self, *, limit: int, descending: bool, after: Key | None, page: int) -> list[Contact]:
        """The slice a `searchAfter` cursor (or a page number) asks for, in the sort's order."""
        if after is not None:
            if descending:
                end = bisect_left(self.keys, after)
                return self.contacts[max(0, end - limit) : end][::-1]
            start = bisect_right(self.keys, after)
            return self.contacts[start : start + limit]
        start = (page - 1) * limit
        if descending:
            n = len(self.contacts)
            return self.contacts[max(0, n - start - limit) : max(0, n - start)][::-1]
        return self.contacts[start : start + limit]


def signature(location_id: str, body: dict[str, Any], sort_field: str) -> str:
    """What identifies one search across its pages (not its cursor or page)."""
    kept = {k: body.get(k) for k in ("filters", "query")}
    return json.dumps([location_id, sort_field, kept], sort_keys=True, default=str)


def cached_hits(
    cache: dict[str, Hits],
    *,
    generation: int,
    sig: str,
    build: Callable[[], tuple[list[Contact], bool]],
    key: Callable[[Contact], Key],
) -> Hits:
    """The kept hits of `sig`, or fresh ones from `build()` -> (hits, all indexed)."""
    kept = cache.get(sig)
    if kept is not None and kept.generation == generation:
        return kept
    found, settled = build()
    found.sort(key=key)
    hits = Hits(generation=generation, keys=[key(c) for c in found], contacts=found)
    if settled:
        cache.clear()  # one search at a time is all a sync needs; keep memory flat
        cache[sig] = hits
    return hits
