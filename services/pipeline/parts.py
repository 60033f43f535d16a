"""What every part of one location's deal pipeline works with; `DealPipeline` makes the parts.

stages = StageAdvancer(client=ghl, engine=engine, config=config, ghl_map=ghl_map, clock=now)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from ghl.client import GHLClient
from services.config import DealConfig
from services.ghl_map import GHLMap


@dataclass(kw_only=True, eq=False, repr=False)
class LocationPart:
    """The location's GHL client and map, the store, the deal settings and the clock."""

    client: GHLClient
    engine: Engine
    config: DealConfig
    ghl_map: GHLMap
    clock: Callable[[], datetime]
