"""A contact search's pages, each fetched while the caller stores the one before.

for page in pages_ahead(client, filters=[client.contacts.tag_filter("active_buyer")],
                        page_limit=500):
    store(page)
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

from ghl.client import GHLClient
from ghl.models import Contact
from ghl.resources.contacts import SearchFilter


def pages_ahead(
    client: GHLClient, *, filters: list[SearchFilter], page_limit: int
) -> Iterator[list[Contact]]:
    """The search's pages, the next one fetched while the caller stores this one.

    A full sync of 100,000 buyers is 200 pages at GHL's 100 calls per 10 s: storing a page
    while GHL answers the next keeps the sync as fast as the rate limit allows. One thread
    asks GHL (the client is used by no one else meanwhile); a page waits in a queue of one.
    """
    pages: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand(kind: str, item: Any) -> bool:
        while not stop.is_set():
            try:
                pages.put((kind, item), timeout=0.1)
                return True
            except queue.Full:
                continue
        return False  # the caller stopped reading

    def fetch() -> None:
        try:
            cursor: list[Any] | None = None
            while True:
                page, _total = client.contacts.search_page(
                    filters=filters, page_limit=page_limit, search_after=cursor
                )
                if not hand("page", page):
                    return
                if len(page) < page_limit or not page or not page[-1].search_after:
                    break
                cursor = page[-1].search_after
            hand("end", None)
        except BaseException as exc:  # handed to the caller, raised there
            hand("error", exc)

    worker = threading.Thread(target=fetch, name="buyer-sync-fetch", daemon=True)
    worker.start()
    try:
        while True:
            kind, item = pages.get()
            if kind == "error":
                raise item
            if kind == "end":
                return
            yield item
    finally:
        stop.set()  # a fetch under way finishes its call, then stops
        worker.join(timeout=60)
