"""Dry-run: GHL calls answered in-process by the emulator, with nothing sent over the network.

`DEALFINDER_DRY_RUN=1` swaps the transport's HTTP adapter for `WSGIAdapter`, which hands each
prepared request to the emulator's WSGI app and turns its answer into a `requests.Response`.
Every layer above the adapter (limiter, retries, error mapping, models) runs as in production,
and the answers are well-formed because the emulator validates them against GHL's files.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from io import BytesIO
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from werkzeug.test import Client

log = logging.getLogger("dealfinder.ghl.dryrun")


class WSGIAdapter(BaseAdapter):
    """A requests adapter that serves requests from a WSGI app in this process."""

    def __init__(self, app: Any) -> None:  # any WSGI callable (werkzeug types it loosely)
        super().__init__()
        self._client = Client(app)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Answer `request` from the app; the transport options mean nothing in-process."""
        url = request.url or ""  # a prepared request always has one
        parts = urlsplit(url)
        body = request.body.encode() if isinstance(request.body, str) else request.body
        answer = self._client.open(
            path=parts.path,
            query_string=parts.query,
            method=request.method,
            headers=list(request.headers.items()),
            data=body or b"",
        )
        log.info("dry-run GHL %s %s -> %s", request.method, parts.path, answer.status_code)
        response = requests.Response()
        response.status_code = answer.status_code
        response.headers = CaseInsensitiveDict(answer.headers.items())
        response.raw = BytesIO(answer.get_data())
        response.url = url
        response.request = request
        response.reason = answer.status.split(" ", 1)[1] if " " in answer.status else ""
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        pass


def dry_run_session(*, token: str, location_id: str) -> requests.Session:
    """A session whose every request is answered by a fresh, demo-seeded in-process emulator."""
    from sandbox.ghl_emulator import Emulator, EmulatorConfig

    # No burst limit worth waiting for: a dry run shows what would happen, not how long.
    emulator = Emulator(
        EmulatorConfig(tokens={token: location_id}, burst_max=1_000_000, burst_interval_ms=1_000)
    )
    emulator.seed_demo(location_id=location_id)
    session = requests.Session()
    adapter = WSGIAdapter(emulator.wsgi_app)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
