"""SlackFake: a strict stand-in for the Slack Web API, for tests and the sandbox demo.

It answers like Slack (errors, limits, rate limits) and remembers everything the bot did.

    fake = SlackFake()
    with fake.serve() as served:
        client = WebClient(token=BOT_TOKEN, base_url=served.api_url)
        client.chat_postMessage(channel="C0DEALS", text="New deal")
        assert fake.messages("C0DEALS")[0].text == "New deal"
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable

from sandbox.slack_fake.api import dispatch
from sandbox.slack_fake.config import FakeConfig
from sandbox.slack_fake.faults import FaultQueue
from sandbox.slack_fake.replies import Reply, fail
from sandbox.slack_fake.response_urls import post_to_response_url
from sandbox.slack_fake.server import ServedFake
from sandbox.slack_fake.socket_mode import SocketModeHub
from sandbox.slack_fake.state import JSON, Call, Channel, Message, User
from sandbox.slack_fake.store import SlackStore

# Errors that are not the caller's mistake: a rate limit is to be waited out, not fixed.
_NOT_REJECTIONS = {"ratelimited"}
# Answers that are a look-up's "nobody", not a refusal of what the caller sent: the people
# refresh asks Slack about every GHL user's email, and most may have no Slack user.
_NOT_FOUND_ANSWERS = {("users.lookupByEmail", "users_not_found")}


def _wall_clock() -> float:
    # Looked up on every call so freezegun's patched time.time is seen.
    return time.time()


def _real_sleep(seconds: float) -> None:
    time.sleep(seconds)


class SlackFake:
    """One fake Slack workspace: state, fault queue, and the HTTP server around them."""

    def __init__(
        self,
        config: FakeConfig | None = None,
        *,
        clock: Callable[[], float] = _wall_clock,
        sleep: Callable[[float], None] = _real_sleep,
    ):
        self.config = config or FakeConfig()
        self.sleep = sleep
        self.store = SlackStore(self.config, clock=clock)
        self.faults = FaultQueue()
        self._expected: list[tuple[str, str | None]] = []
        self._base_url: str | None = None
        self._lock = threading.Lock()
        # Socket Mode: apps.connections.open tickets, the app's websockets, pushed envelopes.
        self.socket_mode = SocketModeHub(self.config, note_rejection=self.note_rejection)

    # -- serving -----------------------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> ServedFake:
        """Start answering over HTTP in a background thread; stop() or use as a context."""
        served = ServedFake(self, host=host, port=port)
        self._base_url = served.url
        return served

    @property
    def url(self) -> str:
        """Where the fake answers ("http://127.0.0.1:PORT"); set by serve()."""
        if self._base_url is None:
            raise RuntimeError("serve() the fake first")
        return self._base_url

    @property
    def api_url(self) -> str:
        """The `base_url` for slack_sdk's WebClient (slack_sdk appends the method name)."""
        return f"{self.url}/api/"

    def call(
        self, *, method: str, args: JSON, token: str | None, body_error: str | None = None
    ) -> Reply:
        """Answer one Web API call in-process (the HTTP layer calls this)."""
        if body_error is not None:
            return fail(body_error)
        return dispatch(
            self.store,
            method=method,
            args=args,
            token=token,
            extra_handlers={"apps.connections.open": self._open_socket_connection},
        )

    def _open_socket_connection(self, store: SlackStore, args: JSON) -> Reply:
        return self.socket_mode.open_connection()

    def post_to_response_url(self, url_id: str, raw_body: bytes) -> Reply:
        return post_to_response_url(self.store, url_id, raw_body)

    def record_call(self, *, method: str, args: JSON, reply: Reply, fault: str | None) -> None:
        """Remember a call; its args are copied so later changes by the caller do not leak in."""
        self.store.record(
            Call(
                method=method,
                args=copy.deepcopy(args),
                status=reply.status,
                response=copy.deepcopy(reply.body),
                at=self.store.clock(),
                fault=fault,
            )
        )

    # -- issuing what Slack puts in payloads ---------------------------------------------------

    def issue_trigger_id(self, *, user_id: str = "U0BROKER1") -> str:
        """A trigger_id for `user_id`, usable once within 3 seconds (by the fake's clock)."""
        return self.store.issue_trigger_id(user_id=user_id)

    def new_response_url(
        self,
        *,
        channel_id: str = "C0DEALS",
        user_id: str = "U0BROKER1",
        message_ts: str | None = None,
        message_is_ephemeral: bool = False,
    ) -> str:
        """A response_url answering an interaction by `user_id` in `channel_id`.

        `message_ts` names the message an interaction came from, so `replace_original` and
        `delete_original` have something to act on. The fake must be served first.
        """
        base_url = self.url
        url_id = self.store.issue_response_url(
            channel_id=channel_id,
            user_id=user_id,
            message_ts=message_ts,
            message_is_ephemeral=message_is_ephemeral,
        )
        return f"{base_url}/response/{url_id}"

    # -- setting up a scenario -----------------------------------------------------------------

    def add_user(self, user: User) -> None:
        with self.store.lock:
            self.store.workspace.users[user.id] = user

    def add_channel(self, channel: Channel) -> None:
        with self.store.lock:
            self.store.workspace.channels[channel.id] = channel

    def queue_fault(
        self, method: str, kind: str, *, times: int = 1, delay_seconds: float | None = None
    ) -> None:
        """Make the next `times` calls of `method` fail with `kind`.

        Kinds: "ratelimited" (429, Retry-After), "server_error" (500), "drop" (connection closed
        without an answer), "slow" (answer after `delay_seconds`). `method` may be "*" for any
        method, or "response_url" for posts to response_urls.
        """
        delay = self.config.slow_fault_seconds if delay_seconds is None else delay_seconds
        self.faults.add(method, kind, times=times, delay_seconds=delay)

    def reset(self) -> None:
        """Back to the seeded workspace: no messages, views, calls or queued faults.

        Declared `expect_rejection`s stay: they belong to the test, not to the workspace, and
        so do open Socket Mode connections: they belong to the app.
        """
        self.store.reset()
        self.faults.clear()
        self.socket_mode.clear_history()

    # -- looking at what happened --------------------------------------------------------------

    def messages(self, channel: str) -> list[Message]:
        """Top-level messages of a channel, oldest first (copies)."""
        with self.store.lock:
            stored = self.store.messages.get(channel, [])
            return [copy.deepcopy(m) for m in stored if m.thread_ts in (None, m.ts)]

    def replies(self, channel: str, thread_ts: str) -> list[Message]:
        """Replies in a thread, oldest first, without the parent (copies)."""
        with self.store.lock:
            stored = self.store.messages.get(channel, [])
            return [
                copy.deepcopy(m) for m in stored if m.thread_ts == thread_ts and m.ts != thread_ts
            ]

    def find_message(self, channel: str, ts: str) -> Message | None:
        """A message or thread reply by channel and ts, or an ephemeral; None if gone."""
        with self.store.lock:
            found = self.store.find_message(channel, ts) or self.store.find_ephemeral(channel, ts)
            return copy.deepcopy(found)

    def ephemerals(
        self, *, user_id: str | None = None, channel: str | None = None
    ) -> list[Message]:
        """Ephemeral messages, optionally only those shown to a user or in a channel."""
        with self.store.lock:
            return [
                copy.deepcopy(m)
                for m in self.store.ephemerals
                if user_id in (None, m.ephemeral_to) and channel in (None, m.channel)
            ]

    def views(self, user_id: str) -> list[JSON]:
        """The modals open for a user, bottom of the stack first."""
        with self.store.lock:
            return self.store.open_views(user_id)

    @property
    def calls(self) -> list[Call]:
        """Every call seen (Web API and response_url), oldest first."""
        with self.store.lock:
            return list(self.store.calls)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    # -- strictness bookkeeping ----------------------------------------------------------------

    def expect_rejection(self, error: str, *, method: str | None = None) -> None:
        """Declare that a test provokes `error` (from `method`, or any), so it is not a failure."""
        with self._lock:
            self._expected.append((error, method))

    def note_rejection(self, *, source: str, error: str, detail: str = "") -> None:
        """Record a refusal seen outside the Web API (e.g. a slash command acked too late)."""
        body: JSON = {"ok": False, "error": error}
        if detail:
            body["response_metadata"] = {"messages": [detail]}
        self.record_call(method=source, args={}, reply=Reply(body), fault=None)

    def rejections(self) -> list[Call]:
        """Calls Slack would have refused because of what the caller sent."""
        return [
            c
            for c in self.calls
            if c.fault is None
            and c.error is not None
            and c.error not in _NOT_REJECTIONS
            and (c.method, c.error) not in _NOT_FOUND_ANSWERS
        ]

    def unexpected_rejections(self) -> list[Call]:
        """Rejections no `expect_rejection` covers: bugs in the caller, or in a test."""
        with self._lock:
            expected = list(self._expected)
        return [
            c
            for c in self.rejections()
            if not any(e == c.error and m in (None, c.method) for e, m in expected)
        ]

    def snapshot(self) -> JSON:
        """Channels with their messages, ephemerals and open views, as /_fake/state shows."""
        config = self.config
        with self.store.lock:
            channels = []
            for channel in self.store.workspace.channels.values():
                wire = channel.to_slack(bot_user_id=config.bot_user_id)
                wire["messages"] = [
                    {**m.to_slack(team_id=config.team_id, app_id=config.app_id), "via": m.via}
                    for m in self.store.messages.get(channel.id, [])
                ]
                channels.append(wire)
            ephemerals = [
                {
                    **m.to_slack(team_id=config.team_id, app_id=config.app_id),
                    "channel": m.channel,
                    "ephemeral_to": m.ephemeral_to,
                    "via": m.via,
                }
                for m in self.store.ephemerals
            ]
            views = {user: self.store.open_views(user) for user in self.store.view_stacks}
            # For a page to draw the Home tab and link previews (chat.unfurl, views.publish).
            unfurls = [
                {"channel": s.channel, "message_ts": s.message_ts, "unfurls": s.unfurls}
                for s in self.store.link_shares.values()
                if s.unfurls
            ]
            return {
                "team": {"id": config.team_id, "name": config.team_name},
                "channels": channels,
                "ephemerals": ephemerals,
                "views": views,
                "home_views": copy.deepcopy(self.store.home_views),
                "unfurls": copy.deepcopy(unfurls),
            }
