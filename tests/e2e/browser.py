"""Headless Chromium for the sandbox page tests (`sandbox.browser`), and a watch on the
errors a page meets."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from sandbox import browser


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched headless Chromium; the test fails (never skips) when it is missing."""
    if not os.path.exists(browser.CHROMIUM):
        pytest.fail(browser.MISSING)
    with browser.chromium() as launched:
        yield launched


def watch_errors(page: Any) -> list[str]:
    """Collect JavaScript errors and failed responses (HTTP >= 500) the page meets."""
    seen: list[str] = []
    page.on("pageerror", lambda exc: seen.append(f"pageerror: {exc}"))
    page.on(
        "response",
        lambda r: seen.append(f"HTTP {r.status} {r.url}") if r.status >= 500 else None,
    )
    return seen
