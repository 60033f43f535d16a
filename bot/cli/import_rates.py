"""The import summary's rate and headroom rows: figures only where they mean something.

A re-run that creates and updates nothing has no per-property cost or speed (it once said
"0.0 per created/updated property; 2655 properties/min"); a dry run talks to the in-process
emulator, whose speed and headroom say nothing about GHL (it once said "burst 999977/1000000
per 1 s").

    calls_detail(summary, dry_run=False)
    # "5.8 per created/updated property; 112 created/updated a minute"
    headroom_detail(summary, dry_run=True)  # "none: a dry run uses the in-process emulator, ..."
"""

from __future__ import annotations

from services.importer import ImportSummary

# Below this a properties-per-minute figure is noise (a handful of fast records).
MIN_SECONDS_FOR_A_RATE = 1.0


def calls_detail(summary: ImportSummary, *, dry_run: bool) -> str:
    """Calls per created/updated property and created/updated properties a minute, when real."""
    counts = summary.counts()
    worked = counts["created"] + counts["updated"]
    if not worked:
        return "nothing created or updated (already done), so no per-property rate"
    per = f"{summary.ghl_calls / worked:.1f} per created/updated property"
    if dry_run:
        return f"{per}; no speed shown: a dry run uses the in-process emulator"
    if summary.elapsed_seconds < MIN_SECONDS_FOR_A_RATE:
        return per
    return f"{per}; {worked / summary.elapsed_seconds * 60:.0f} created/updated a minute"


def headroom_detail(summary: ImportSummary, *, dry_run: bool) -> str | None:
    """GHL's rate-limit headroom after the run; None when GHL did not say."""
    if dry_run:
        return "none: a dry run uses the in-process emulator, not GHL's limits"
    h = summary.headroom
    if h is None or not h.burst_max:
        return None
    return (
        f"burst {h.burst_remaining}/{h.burst_max} per {h.interval_seconds:g} s; "
        f"daily {h.daily_remaining:,}/{h.daily_max:,}"
    )
