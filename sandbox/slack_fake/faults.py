"""One-shot fault injection: the next calls of a method fail the way Slack sometimes does.

faults.add("chat.postMessage", "server_error", times=2)
faults.take("chat.postMessage")   # Fault(kind="server_error", ...), twice, then None
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

FAULT_KINDS = ("ratelimited", "server_error", "drop", "slow")
ANY_METHOD = "*"
RESPONSE_URL = "response_url"  # the method name faults use for response_url posts


@dataclass
class Fault:
    """A queued failure: what happens and how many more calls it hits."""

    method: str
    kind: str
    remaining: int
    delay_seconds: float


class FaultQueue:
    """Faults waiting for their calls, consumed first-queued first; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, method: str, kind: str, *, times: int, delay_seconds: float) -> None:
        """Queue `kind` for the next `times` calls of `method` ("*" for any method)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; use one of {FAULT_KINDS}")
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._faults.append(Fault(method, kind, times, delay_seconds))

    def take(self, method: str) -> Fault | None:
        """The fault for this call of `method`, if one is queued (and count it as used)."""
        with self._lock:
            for fault in self._faults:
                if fault.method in (method, ANY_METHOD):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
            return None

    def pending(self) -> list[Fault]:
        """Faults not yet used up."""
        with self._lock:
            return [Fault(f.method, f.kind, f.remaining, f.delay_seconds) for f in self._faults]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
