"""Webhooks the emulator sends: signed as GHL signs them, retried as GHL retries them.

GHL's rule (help centre, "Automated Webhook Retries"; ghl-api README): only a 429 answer is
retried, up to 6 times, every 10 minutes plus jitter; any other status, 5xx included, and a
failed connection end the delivery. Every attempt carries the same body, hence the same
`webhookId`, `timestamp` and signature.

Nothing here sleeps: `deliver_due()` makes the attempts that are due on the emulator's clock,
so tests move a frozen clock 10 minutes and call it; `start()` runs it in a thread for the
sandbox and `dealfinder emulator --webhook-url`.

    sender = WebhookSender(clock=time.time)
    sender.url = "http://127.0.0.1:3000/ghl/webhooks"
    sender.emit({"type": "InboundMessage", ...})
    sender.deliver_due()        # -> [Attempt(webhook_id, status=200, final=True), ...]
"""

from __future__ import annotations

import json
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from sandbox.ghl_emulator.webhook_keys import SIGNATURE_HEADER, sign

RETRY_EVERY_S = 600.0  # GHL: "every 10 minutes"
MAX_RETRIES = 6  # GHL: "up to 6 times" after the first attempt
TIMEOUT_S = 10.0


def next_attempt(*, status: int | None, retries_done: int) -> bool:
    """GHL's retry policy: True when a delivery answered `status` is tried again.

    Only 429 is retried, and only until `MAX_RETRIES` retries were made; None (no answer)
    ends it like any other non-429 outcome.
    """
    return status == 429 and retries_done < MAX_RETRIES


@dataclass
class Delivery:
    """One event on its way: the exact bytes, and when it is next due."""

    webhook_id: str
    event_type: str
    body: bytes
    due_at: float
    retries: int = 0
    statuses: list[int | None] = field(default_factory=list)
    done: bool = False
    sending: bool = False  # taken by one deliver_due (the loop and a control call may race)


@dataclass(frozen=True)
class Attempt:
    webhook_id: str
    event_type: str
    status: int | None  # None: no HTTP answer (refused connection, timeout)
    final: bool


class WebhookSender:
    """Queues events and delivers them to `url` by GHL's rules, on an injectable clock."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        url: str | None = None,
        jitter_s: float = 0.0,
        rng: random.Random | None = None,
        post: Callable[..., Any] = requests.post,
    ) -> None:
        self.clock = clock
        self.url = url
        self.jitter_s = jitter_s
        self.rng = rng or random.Random()
        self.post = post
        self.deliveries: list[Delivery] = []
        self.attempts: list[Attempt] = []
        self._lock = threading.Lock()
        self._stop: threading.Event | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def emit(self, event: dict[str, Any]) -> Delivery | None:
        """Queue `event` (GHL's format) with `timestamp` and `webhookId` added, due now."""
        if not self.enabled:
            return None
        now = self.clock()
        webhook_id = str(uuid.UUID(int=self.rng.getrandbits(128)))
        stamp = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        payload = dict(event) | {"timestamp": stamp, "webhookId": webhook_id}
        delivery = Delivery(
            webhook_id=webhook_id,
            event_type=str(event.get("type")),
            body=json.dumps(payload).encode(),
            due_at=now,
        )
        with self._lock:
            self.deliveries.append(delivery)
        return delivery

    def pending(self) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if not d.done]

    def deliver_due(self) -> list[Attempt]:
        """Make every attempt due now; returns them in order."""
        now = self.clock()
        with self._lock:
            due = [d for d in self.deliveries if not d.done and not d.sending and d.due_at <= now]
            for delivery in due:
                delivery.sending = True
        made = []
        for delivery in due:
            status = self._post(delivery)
            delivery.sending = False
            delivery.statuses.append(status)
            if next_attempt(status=status, retries_done=delivery.retries):
                delivery.retries += 1
                delivery.due_at = now + RETRY_EVERY_S + self.rng.uniform(0, self.jitter_s)
            else:
                delivery.done = True
            attempt = Attempt(delivery.webhook_id, delivery.event_type, status, delivery.done)
            made.append(attempt)
            with self._lock:
                self.attempts.append(attempt)
        return made

    def _post(self, delivery: Delivery) -> int | None:
        if not self.url:
            return None
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(delivery.body)}
        try:
            answer = self.post(self.url, data=delivery.body, headers=headers, timeout=TIMEOUT_S)
        except requests.RequestException:
            return None
        return int(answer.status_code)

    def clear(self) -> None:
        with self._lock:
            self.deliveries.clear()
            self.attempts.clear()

    # -- a background loop for interactive runs (never used by tests) ------------------------

    def start(self, interval_s: float = 1.0) -> None:
        """Deliver due webhooks every `interval_s` seconds in a daemon thread until `stop()`."""
        if self._stop is not None:
            return
        stop = self._stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval_s):
                self.deliver_due()

        threading.Thread(target=loop, name="ghl-emulator-webhooks", daemon=True).start()

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()
            self._stop = None
