"""A batch import: a file of analysed properties in, one worked GHL deal per property out.

Bad records are reported by line and skipped; a property GHL refuses (validation, retries
used up) is recorded with its reason and the batch goes on; GHL's daily limit or a refused
token ends the batch cleanly, saying how many properties are left. Re-running the same file
creates nothing twice, and a run killed at any point finishes on the next run.

    summary = run_import(Path("mls_batch.csv"), client=client, engine=engine, config=config)
    summary.counts()   # {"created": 180, "updated": 0, "skipped": 12, "failed": 1}
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ghl.client import GHLClient
from ghl.errors import GHLAuthError, GHLDailyLimitError, GHLPermissionError
from ghl.ratelimit import Headroom
from matching.notify import NotifyRules
from services.config import DealConfig
from services.ghl_map import GHLMapSource
from services.pipeline.core import DealPipeline, DealResult, HotHook
from services.property import PropertyRecord
from services.property_files import RecordError, iter_records
from store.types import utcnow

Progress = Callable[[int, int, DealResult | None], None]  # (done, total, latest result)


@dataclass
class ImportSummary:
    """Everything an import did, for the CLI table, `--json` and the Slack bot."""

    source: str
    results: list[DealResult] = field(default_factory=list)
    bad: list[RecordError] = field(default_factory=list)
    stopped: str | None = None  # why the batch ended before its last property
    left: int = 0  # properties not attempted because of the stop
    ghl_calls: int = 0  # all calls, the per-batch look-ups included
    elapsed_seconds: float = 0.0
    headroom: Headroom | None = None
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        found = Counter(r.action for r in self.results)
        return {k: found.get(k, 0) for k in ("created", "updated", "skipped", "failed")}

    @property
    def ok(self) -> bool:
        """False when any record was bad, any property failed, or the batch stopped early."""
        return not self.bad and not self.stopped and self.counts()["failed"] == 0

    @property
    def calls_per_property(self) -> float:
        worked = sum(1 for r in self.results if r.action in ("created", "updated"))
        return self.ghl_calls / worked if worked else 0.0

    @property
    def per_minute(self) -> float:
        return len(self.results) / self.elapsed_seconds * 60 if self.elapsed_seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "ok": self.ok,
            "counts": self.counts(),
            "bad_records": [vars(e) for e in self.bad],
            "results": [r.as_dict() for r in self.results],
            "stopped": self.stopped,
            "left": self.left,
            "ghl_calls": self.ghl_calls,
            "calls_per_property": round(self.calls_per_property, 2),
            "elapsed_seconds": round(self.elapsed_seconds, 2),
            "properties_per_minute": round(self.per_minute, 1),
            "headroom": vars(self.headroom) if self.headroom else None,
            "warnings": self.warnings,
        }


def read_batch(path: Path) -> tuple[list[tuple[int, PropertyRecord]], list[RecordError]]:
    """The file's usable records and its bad ones (ReadError if it cannot be read at all)."""
    records: list[tuple[int, PropertyRecord]] = []
    bad: list[RecordError] = []
    for line, item in iter_records(path):
        if isinstance(item, RecordError):
            bad.append(item)
        else:
            records.append((line, item))
    return records, bad


def run_import(
    path: Path,
    *,
    client: GHLClient,
    engine: Engine,
    config: DealConfig,
    clock: Callable[[], datetime] = utcnow,
    on_hot_deal: Sequence[HotHook] = (),
    on_progress: Progress | None = None,
    rules: NotifyRules | None = None,
    prefetch: bool = True,
    pipeline: Callable[[], DealPipeline] | None = None,
    maps: GHLMapSource | None = None,
) -> ImportSummary:
    """Import every record of `path` into GHL; GHLMapError/ReadError if it cannot start.

    `pipeline` returns the process's own (`bot.runtime.Runtime.deal_pipeline`, with its
    hot-deal hooks), called after the call count starts (its GHL look-ups are the batch's);
    None builds one from the other arguments, over `maps` (the location's GHL map,
    resolved here when not resolved yet) if given. `prefetch=False` finds each unlinked
    deal by its own search (for comparisons).
    """
    started = time.monotonic()
    calls_before = client.stats.calls
    summary = ImportSummary(source=str(path))
    records, summary.bad = read_batch(path)
    summary.warnings += [
        f"line {line}: analysis_notes cut by {r.notes_cut:,} characters"
        for line, r in records
        if r.notes_cut
    ]
    if pipeline is not None:
        deals = pipeline()
    else:
        deals = DealPipeline(
            client, engine, config, (maps or GHLMapSource(client, config)).get(), clock=clock,
            on_hot_deal=on_hot_deal, rules=rules,
        )  # fmt: skip
    total = len(records)
    if on_progress:
        on_progress(0, total, None)
    try:
        deals.hot.drain()  # enrolments an earlier run left due
        if prefetch:
            deals.prefetch([r for _, r in records])
        for done, (_, record) in enumerate(records, start=1):
            summary.results.append(deals.process(record))
            if on_progress:
                on_progress(done, total, summary.results[-1])
    except GHLDailyLimitError as exc:
        summary.stopped = f"GHL's daily request limit is reached ({exc}); run the same import "
        summary.stopped += "again after the reset (midnight UTC) to finish"
    except (GHLAuthError, GHLPermissionError) as exc:
        summary.stopped = f"GHL refused the token: {exc}"
    summary.left = total - len(summary.results)
    summary.ghl_calls = client.stats.calls - calls_before
    summary.elapsed_seconds = time.monotonic() - started
    summary.headroom = client.remaining()
    return summary
