"""Socket Mode in the fake: `apps.connections.open` tickets, the app's websocket connections,
and envelopes pushed to the app with the acks it sends back.

Follows Slack's Socket Mode guide (api.slack.com/apis/socket-mode): the app trades its
app-level token for a single-use `wss://.../link/?ticket=...` URL, gets `{"type": "hello"}` on
connecting, and must answer every envelope with `{"envelope_id", "payload"?}` within 3 seconds.
Envelopes are spread over the app's open connections in turn, as Slack spreads them.

    hub.wait_for_connection(timeout=10)
    envelope = hub.push("slash_commands", form, wait=3.0)
    envelope.acked, envelope.elapsed, envelope.ack_payload
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sandbox.slack_fake.config import FakeConfig
from sandbox.slack_fake.replies import Reply, fail, ok
from sandbox.slack_fake.state import JSON

SOURCE = "socket_mode"  # how the fake's rejection list names what happened on the websocket
NORMAL_CLOSURE = 1000  # RFC 6455 section 7.4.1
# freezegun swaps time.perf_counter while a test freezes time, but Slack's 3 seconds are real
# seconds; a reference kept inside a tuple is not found and patched.
_REAL_PERF_COUNTER = (time.perf_counter,)

NoteRejection = Callable[..., None]  # SlackFake.note_rejection(source=, error=, detail=)


class SocketLink(Protocol):
    """One open websocket to the app, as the hub sees it (the server's sessions are these)."""

    id: str

    def send_text(self, text: str) -> None: ...

    def close(self, code: int, reason: str) -> None: ...


class NoSocketConnection(RuntimeError):
    """An envelope was pushed while no app was connected (wait_for_connection first)."""


def accepts_response_payload(envelope_type: str, payload: JSON) -> bool:
    """Whether Slack uses the payload of the ack: slash commands show it as a message and
    view submissions act on it (errors, update, push); button clicks and shortcuts ignore it."""
    if envelope_type == "slash_commands":
        return True
    return envelope_type == "interactive" and payload.get("type") == "view_submission"


@dataclass
class Envelope:
    """One envelope pushed to the app, and the ack it got (if any)."""

    envelope_id: str
    type: str
    payload: JSON
    accepts_response_payload: bool
    connection_id: str
    pushed_at: float = 0.0
    ack: JSON | None = None  # the app's whole answer: {"envelope_id", "payload"?}
    elapsed: float | None = None  # seconds from the push to the ack
    answered: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def acked(self) -> bool:
        return self.answered.is_set()

    @property
    def ack_payload(self) -> JSON | None:
        """What the ack carried for Slack to show or act on, or None."""
        return None if self.ack is None else self.ack.get("payload")

    def to_wire(self) -> JSON:
        """The envelope as Slack writes it on the websocket."""
        return {
            "envelope_id": self.envelope_id,
            "payload": self.payload,
            "type": self.type,
            "accepts_response_payload": self.accepts_response_payload,
        }


class SocketModeHub:
    """The fake's Socket Mode state: tickets, open connections, envelopes and their acks."""

    def __init__(self, config: FakeConfig, *, note_rejection: NoteRejection):
        self.config = config
        self._note = note_rejection
        self.link_url: str | None = None  # "ws://HOST:PORT/link/", set when the fake is served
        self._changed = threading.Condition()
        self._tickets: set[str] = set()
        self._links: dict[str, SocketLink] = {}
        self._retiring: set[str] = set()  # told to reconnect; closed once replaced
        self._envelopes: dict[str, Envelope] = {}
        self._turn = 0
        self.connections_made = 0

    # -- apps.connections.open and the handshake ------------------------------------------------

    def open_connection(self) -> Reply:
        """Answer apps.connections.open: a websocket URL with a fresh single-use ticket."""
        if self.link_url is None:
            return fail("internal_error", messages=["[ERROR] the fake's websocket is not served"])
        ticket = str(uuid.uuid4())
        with self._changed:
            self._tickets.add(ticket)
        return ok(url=f"{self.link_url}?ticket={ticket}&app_id={self.config.app_id}")

    def redeem(self, ticket: str) -> bool:
        """Use up a ticket; False if it was never issued or is already used."""
        with self._changed:
            if ticket not in self._tickets:
                return False
            self._tickets.discard(ticket)
            return True

    def refuse(self, error: str, detail: str) -> None:
        """Record something the app did on the websocket that Slack would not accept."""
        self._note(source=SOURCE, error=error, detail=detail)

    # -- connections ---------------------------------------------------------------------------

    def attach(self, link: SocketLink) -> None:
        """A connection finished its handshake: greet it as Slack does, then count it."""
        with self._changed:
            count = len(self._links) + 1
        hello = {
            "type": "hello",
            "num_connections": count,
            "debug_info": {"host": "applink-fake", "build_number": 1,
                           "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.config.app_id},
        }  # fmt: skip
        link.send_text(json.dumps(hello))
        with self._changed:
            self._links[link.id] = link
            self.connections_made += 1
            replaced = [self._links[i] for i in self._retiring if i in self._links]
            self._retiring.clear()
            self._changed.notify_all()
        for old in replaced:
            old.close(NORMAL_CLOSURE, "replaced by a new connection")

    def detach(self, link: SocketLink) -> None:
        """A connection ended (either side closed it)."""
        with self._changed:
            self._links.pop(link.id, None)
            self._retiring.discard(link.id)
            self._changed.notify_all()

    @property
    def connection_count(self) -> int:
        """Connections open now."""
        with self._changed:
            return len(self._links)

    def wait_for_connection(self, *, timeout: float, count: int = 1) -> bool:
        """Wait until `count` connections are open (greeted); False if `timeout` passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self._links) >= count, timeout=timeout)

    def request_refresh(self, reason: str = "refresh_requested") -> None:
        """Send Slack's `disconnect` message: the app should open a new connection and drop
        the old one (Slack does this every few hours, and before maintenance).

        Slack closes the old connection about ten seconds later; the fake closes it as soon as
        a new one is open, so tests do not wait.
        """
        message = json.dumps(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
        )
        links = self._open_links()
        with self._changed:
            self._retiring.update(link.id for link in links)
        for link in links:
            link.send_text(message)

    def close_all(self, code: int, reason: str) -> None:
        """Close every connection (the fake is stopping)."""
        for link in self._open_links():
            link.close(code, reason)

    def _open_links(self) -> list[SocketLink]:
        with self._changed:
            return list(self._links.values())

    # -- envelopes -----------------------------------------------------------------------------

    def push(self, envelope_type: str, payload: JSON, *, wait: float) -> Envelope:
        """Send an envelope to one of the app's connections and wait up to `wait` seconds for
        its ack. Slack stops waiting at 3 seconds; a later ack is still recorded."""
        while True:
            link = self._next_link()
            envelope = Envelope(
                envelope_id=str(uuid.uuid4()),
                type=envelope_type,
                payload=copy.deepcopy(payload),
                accepts_response_payload=accepts_response_payload(envelope_type, payload),
                connection_id=link.id,
            )
            with self._changed:
                self._envelopes[envelope.envelope_id] = envelope
            envelope.pushed_at = _REAL_PERF_COUNTER[0]()
            try:
                link.send_text(json.dumps(envelope.to_wire()))
                break
            except OSError:
                # The connection died under us; Slack would use another one.
                with self._changed:
                    self._envelopes.pop(envelope.envelope_id, None)
                self.detach(link)
        envelope.answered.wait(wait)
        return envelope

    def _next_link(self) -> SocketLink:
        with self._changed:
            links = sorted(self._links.values(), key=lambda link: link.id)
            if not links:
                raise NoSocketConnection("no app is connected over Socket Mode")
            self._turn += 1
            return links[self._turn % len(links)]

    def receive(self, text: str) -> None:
        """A text message from the app: an ack of an envelope it was sent."""
        arrived = _REAL_PERF_COUNTER[0]()
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict) or not isinstance(message.get("envelope_id"), str):
            self.refuse("invalid_ack", "an ack must be a JSON object with an envelope_id")
            return
        if "payload" in message and not isinstance(message["payload"], dict | None):
            self.refuse("invalid_ack", "an ack's payload must be a JSON object")
            return
        with self._changed:
            envelope = self._envelopes.get(message["envelope_id"])
            # Any of the app's connections may carry the ack: slack_sdk sends it on whichever
            # connection is current, which changes when it reconnects mid-request.
            known = envelope is not None
            repeated = envelope is not None and envelope.acked
            if envelope is not None and not repeated:
                envelope.ack = message
                envelope.elapsed = arrived - envelope.pushed_at
                envelope.answered.set()
        # Slack drops these silently; the fake flags them, as an app doing either has a bug.
        if not known:
            self.refuse("unknown_envelope_id", "the ack names no envelope Slack sent")
        elif repeated:
            self.refuse("envelope_already_acked", "the app acked the same envelope twice")

    def envelopes(self) -> list[Envelope]:
        """Every envelope pushed, oldest first."""
        with self._changed:
            return list(self._envelopes.values())

    def clear_history(self) -> None:
        """Forget pushed envelopes and unused tickets (open connections stay)."""
        with self._changed:
            self._envelopes.clear()
            self._tickets.clear()

    def snapshot(self) -> JSON:
        """Connections and envelopes, as /_fake/socket_mode shows them."""
        with self._changed:
            return {
                "connections": sorted(self._links),
                "connections_made": self.connections_made,
                "envelopes": [
                    {**e.to_wire(), "acked": e.acked, "ack": e.ack, "elapsed": e.elapsed}
                    for e in self._envelopes.values()
                ],
            }
