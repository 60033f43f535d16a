"""What the driver sent to the app and what came back, over HTTP or Socket Mode.

sent = driver.slash_command(command="/deal", text="help")
sent.acked_in_time, sent.elapsed, sent.json()     # the same shape whichever way it went
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Literal

import requests

from sandbox.slack_fake.socket_mode import Envelope

# How Slack reaches the app: HTTP POSTs to its request URL, or envelopes over Socket Mode.
Via = Literal["http", "socket"]

# freezegun swaps time.perf_counter while a test freezes time, but the 3-second ack deadline is
# about real seconds; a reference kept inside a tuple is not found and patched.
REAL_PERF_COUNTER = (time.perf_counter,)


@dataclass
class Delivery:
    """One request the driver sent (HTTP POST or Socket Mode envelope) and what the app answered."""

    response: requests.Response | None  # None over Socket Mode
    elapsed: float
    ack_timeout: float
    payload: Any
    trigger_id: str | None = None
    response_url: str | None = None
    envelope: Envelope | None = None  # Socket Mode: the envelope pushed and the ack it got

    @property
    def status(self) -> int:
        """The HTTP status; over Socket Mode 200 once the envelope was acked, else 0."""
        if self.envelope is not None:
            return 200 if self.envelope.acked else 0
        assert self.response is not None
        return self.response.status_code

    @property
    def body(self) -> bytes:
        """The answer's body: the HTTP body, or the ack's payload as JSON (empty if none)."""
        if self.envelope is not None:
            payload = self.envelope.ack_payload
            return b"" if payload is None else json.dumps(payload).encode()
        assert self.response is not None
        return self.response.content

    @property
    def acked_in_time(self) -> bool:
        """Answered 200 within Slack's 3-second limit."""
        return self.status == 200 and self.elapsed <= self.ack_timeout

    def json(self) -> Any:
        """The answer's JSON body, or None when it was empty or not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None
