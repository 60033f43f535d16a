"""The emulator's settings: tokens and their locations, limits, faults, clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.ghl_emulator.faults import Faults
from sandbox.ghl_emulator.limits import Limits

DEMO_LOCATION_ID = "loc_demo"
# Not secrets: the emulator's own, published tokens, valid against nothing but the emulator.
DEMO_TOKEN = "emu-demo-token"  # noqa: S105
DEFAULT_TOKEN = "emu-token"  # noqa: S105


def system_clock() -> float:
    """Epoch seconds. Looks `time.time` up on each call, so freezegun's patch reaches it."""
    return time.time()


@dataclass
class EmulatorConfig:
    """How one emulator behaves. Defaults are GHL's real limits and no faults.

    `tokens` maps each accepted bearer token to the one location it may reach (a private
    integration token of a sub-account). Rate limits count per app per location: per private
    token, and per (OAuth app, location) for OAuth access tokens, however often they rotate.
    `location_limits` gives a location limits of its own (an agency's busy or exhausted
    sub-account); the others keep `burst_max` / `burst_interval_ms` / `daily_max`.
    """

    tokens: dict[str, str] = field(default_factory=lambda: {DEFAULT_TOKEN: DEMO_LOCATION_ID})
    burst_max: int = 100
    burst_interval_ms: int = 10_000
    daily_max: int = 200_000
    location_limits: dict[str, Limits] = field(default_factory=dict)
    send_retry_after: bool = True
    faults: Faults = field(default_factory=Faults)
    clock: Callable[[], float] = system_clock
    sleep: Callable[[float], None] = time.sleep
    # GHL's search guide: `pageLimit` up to 500 for contact search.
    search_page_limit_max: int = 500
    # GHL's search is index-backed: a record just created is not found by contact or
    # opportunity search for a few seconds (GHL's search guide; see ../shared/ghl-api README,
    # "Search lags writes"). By the emulator's clock; 0 makes search instant (only for tests
    # that say so explicitly).
    search_lag_seconds: float = 3.0
    # Keep a contact search's sorted hits between its pages (sandbox/ghl_emulator/search_cache.py):
    # for benchmarks over 100,000 contacts; off so tests may change `state` by hand.
    search_cache: bool = False
    validate_responses: bool = True
    id_seed: int | None = None
    openapi_dir: Path | None = None
    # Webhooks out (sandbox.ghl_emulator.webhooks_out): where to POST them (None: none are
    # sent), the jitter GHL adds to its 10-minute retries, and GHL's own SMS DND on a STOP reply.
    webhook_url: str | None = None
    webhook_retry_jitter_s: float = 60.0
    stop_sets_dnd: bool = True
