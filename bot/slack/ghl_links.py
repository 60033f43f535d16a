"""GHL web-app links: which deal record a pasted URL points at (pure, no I/O).

The product's own "Open in GHL" link (`GHLClient.opportunity_url`) is
`https://app.gohighlevel.com/v2/location/{loc}/opportunities/list?opportunityId={id}`; people
also paste an opportunity's own page and a contact's page, and agencies serve the same app on
a white-label domain (`GHL_APP_DOMAINS`). Anything else is not a GHL record link.

    parse_ghl_link("https://app.gohighlevel.com/v2/location/L1/contacts/detail/c9",
                   domains=("app.gohighlevel.com",))
    # GHLLink(kind="contact", location_id="L1", record_id="c9")
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from html import unescape
from typing import Literal
from urllib.parse import parse_qs, urlsplit

Kind = Literal["opportunity", "contact"]

# GHL ids are URL-safe tokens (letters, digits, - and _); anything else is not a record id.
_ID = r"[A-Za-z0-9_-]{1,64}"
_PATHS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    ("contact", re.compile(rf"^(?:/v2)?/location/(?P<loc>{_ID})/contacts/detail/(?P<id>{_ID})/?$")),
    (
        "opportunity",
        re.compile(rf"^(?:/v2)?/location/(?P<loc>{_ID})/opportunities/(?:list/)?(?P<id>{_ID})/?$"),
    ),
)
_LIST = re.compile(rf"^(?:/v2)?/location/(?P<loc>{_ID})/opportunities/list/?$")
_NOT_IDS = {"list", "pipeline", "pipelines", "kanban"}  # GHL's own pages, not records


@dataclass(frozen=True)
class GHLLink:
    """A GHL record a URL points at."""

    kind: Kind
    location_id: str
    record_id: str


def on_domain(host: str, domains: Iterable[str]) -> bool:
    """Whether `host` is one of `domains` or a subdomain of one (how Slack matches them)."""
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in domains)


def parse_ghl_link(url: str, *, domains: Iterable[str]) -> GHLLink | None:
    """The record `url` opens in GHL's web app, or None when it is no such link."""
    # Slack escapes "&" in message text; a link copied from there may carry "&amp;".
    parts = urlsplit(unescape(url.strip()))
    if parts.scheme not in ("http", "https") or not on_domain(parts.hostname or "", domains):
        return None
    path = parts.path
    listing = _LIST.match(path)
    if listing:
        ids = parse_qs(parts.query).get("opportunityId") or []
        record = ids[0] if ids else ""
        if re.fullmatch(_ID, record):
            return GHLLink("opportunity", listing["loc"], record)
        return None
    for kind, pattern in _PATHS:
        found = pattern.match(path)
        if found and found["id"].lower() not in _NOT_IDS:
            return GHLLink(kind, found["loc"], found["id"])
    return None
