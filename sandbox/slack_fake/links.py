"""Links shared in the fake workspace: which URLs Slack told the app about, and their unfurls.

Slack sends `link_shared` only for URLs on the app's unfurl domains, and `chat.unfurl` may
only unfurl a URL Slack told the app about (`cannot_unfurl_url` otherwise). A share is found
by `unfurl_id` (with its `source`) or by the message's channel and ts.

    share = LinkShare(unfurl_id="C0DEALS.1.abc", source="conversations_history",
                      channel="C0DEALS", message_ts="1.000001", user="U0AGENT01",
                      urls=("https://app.gohighlevel.com/v2/location/L/contacts/detail/c1",))
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

SOURCES = ("composer", "conversations_history")
# What Slack recognises as a link in message text: bare URLs and <url|label> / <url> markup.
_URL = re.compile(r"<?(https?://[^\s<>|]+)(?:\|[^>]*)?>?")


@dataclass
class LinkShare:
    """One `link_shared` event's links, and the unfurls the app attached to them."""

    unfurl_id: str
    source: str
    channel: str
    message_ts: str
    user: str
    urls: tuple[str, ...]
    thread_ts: str | None = None
    unfurls: dict[str, Any] = field(default_factory=dict)  # url -> {"blocks": [...]}


def urls_in(text: str) -> list[str]:
    """The URLs a message's text holds, in order, each once."""
    found: list[str] = []
    for match in _URL.finditer(text):
        url = match.group(1)
        if url not in found:
            found.append(url)
    return found


def on_domains(urls: Iterable[str], domains: Iterable[str]) -> list[str]:
    """The URLs whose host is one of `domains` or a subdomain of one (Slack's matching)."""
    wanted = [d.lower() for d in domains]
    kept = []
    for url in urls:
        host = (urlsplit(url).hostname or "").lower()
        if any(host == d or host.endswith("." + d) for d in wanted):
            kept.append(url)
    return kept


def domain_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
