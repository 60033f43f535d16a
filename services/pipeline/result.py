"""What the deal pipeline reports for each property: `DealResult`, and how errors read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from ghl.errors import GHLError
from services.property import PropertyRecord

Action = Literal["created", "updated", "skipped", "failed"]
HotHook = Callable[["DealResult"], None]
NO_HISTORY = (
    "deal found in GHL with no history in this store (a new machine or a lost database): the "
    "hot-deal workflow, broker texts and hooks are not repeated"
)
DUPLICATE_HINT = (
    " — this contact already has an open deal in the pipeline and the location allows one per "
    "contact: turn on GHL's Settings > Objects > Opportunities > Allow Multiple Opportunities "
    'per Contact, or set "opportunity_contact": "per_property" in the mapping file'
)


@dataclass
class DealResult:
    """What happened to one property; `as_dict()` is what the import summary prints."""

    mls_id: str
    action: Action = "failed"
    reason: str = ""
    opportunity_id: str | None = None
    contact_id: str | None = None
    stage_key: str | None = None
    stage_name: str | None = None
    owner_email: str | None = None
    owner_id: str | None = None
    tasks_created: list[str] = field(default_factory=list)
    note_created: bool = False
    hot: bool = False
    ghl_calls: int = 0
    opportunity_url: str | None = None
    warnings: list[str] = field(default_factory=list)
    # A hot deal's Slack alert: "posted", "queued" (for a process with Slack), ... (hot_alerts)
    alert: str | None = None
    record: PropertyRecord | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("record")
        return data


def explain_error(exc: GHLError) -> str:
    text = str(exc)
    return text + DUPLICATE_HINT if "duplicate opportunity" in text.lower() else text
