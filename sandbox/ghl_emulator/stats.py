"""Counters of what the emulator answered, and the spec violations it saw."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Stats:
    """Requests by method + path template + status, 429s by cause, faults and violations;
    per location (of the calling token): requests, statuses and 429s from the limits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests: Counter[tuple[str, str, int]] = Counter()
            self._rate_limited = Counter({"limit": 0, "injected": 0})
            self._faults: Counter[str] = Counter()
            self._by_location: Counter[tuple[str, int]] = Counter()
            self._limited_at: Counter[str] = Counter()
            self.violations: list[dict[str, Any]] = []

    def request(
        self, method: str, template: str, status: int, *, location_id: str | None = None
    ) -> None:
        with self._lock:
            self._requests[(method, template, status)] += 1
            if location_id is not None:
                self._by_location[(location_id, status)] += 1

    def rate_limited(self, *, injected: bool, location_id: str | None = None) -> None:
        with self._lock:
            self._rate_limited["injected" if injected else "limit"] += 1
            if location_id is not None and not injected:
                self._limited_at[location_id] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def violation(
        self, *, kind: str, method: str, path: str, template: str | None, problems: list[str]
    ) -> None:
        entry = {
            "kind": kind,
            "method": method,
            "path": path,
            "template": template,
            "problems": problems,
        }
        with self._lock:
            self.violations.append(entry)

    def count(self, method: str, template: str, status: int | None = None) -> int:
        """How many `method template` requests were answered (with `status`, if given)."""
        with self._lock:
            return sum(
                n
                for (m, t, s), n in self._requests.items()
                if m == method.upper() and t == template and status in (None, s)
            )

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            requests: dict[str, dict[str, int]] = {}
            for (method, template, status), n in sorted(self._requests.items()):
                requests.setdefault(f"{method} {template}", {})[str(status)] = n
            kinds = Counter(v["kind"] for v in self.violations)
            return {
                "total": sum(self._requests.values()),
                "requests": requests,
                "rate_limited": dict(self._rate_limited),
                "locations": self._locations(),
                "faults": dict(self._faults),
                "violations": {
                    "request": kinds.get("request", 0),
                    "response": kinds.get("response", 0),
                    "items": list(self.violations),
                },
            }

    def _locations(self) -> dict[str, dict[str, Any]]:
        """Per location: answered requests, by status, and 429s from its limits (lock held)."""
        found: dict[str, dict[str, Any]] = {}
        for (location_id, status), n in sorted(self._by_location.items()):
            entry = found.setdefault(
                location_id,
                {"requests": 0, "statuses": {}, "rate_limited": self._limited_at[location_id]},
            )
            entry["requests"] += n
            entry["statuses"][str(status)] = n
        return found
