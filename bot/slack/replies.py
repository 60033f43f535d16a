"""Private answers that arrive: the request's response_url, else an ephemeral, else a DM.

Slack lets a response_url carry 5 messages within 30 minutes of the request. Past that, or
when Slack refuses it (404 for an expired or used-up URL, a 5xx or a lost connection that
retrying did not mend), the answer goes through the Web API instead: an ephemeral message in
the channel the user asked from, or, where the bot cannot post there (a private channel it is
not in, someone else's DM), a direct message from the app. An answer is never dropped
silently: when no route takes it, the error is raised for the caller to log.

    reply = PrivateReply(client=client, user_id="U1", channel_id="C1", response_url=url)
    reply(text="Done", blocks=[...])          # "response_url", "ephemeral" or "direct message"
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.webhook import WebhookClient

log = logging.getLogger("dealfinder.bot.replies")

RESPONSE_URL_USES = 5  # Slack: at most 5 messages per response_url ...
RESPONSE_URL_SECONDS = 30 * 60 - 60  # ... within 30 minutes (a minute kept for the clock skew)
HOOK_TIMEOUT_SECONDS = 10


class _UrlBook:
    """Uses and age of each response_url this process has answered through (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._urls: dict[str, tuple[float, int]] = {}  # url -> (first seen, uses)

    def first_seen(self, url: str, now: float) -> float:
        with self._lock:
            self._prune(now)
            return self._urls.setdefault(url, (now, 0))[0]

    def take(self, url: str, now: float) -> bool:
        """Count one use if the URL is still within Slack's limits."""
        with self._lock:
            first, uses = self._urls.setdefault(url, (now, 0))
            if uses >= RESPONSE_URL_USES or now - first > RESPONSE_URL_SECONDS:
                return False
            self._urls[url] = (first, uses + 1)
            return True

    def spend(self, url: str) -> None:
        """Slack refused the URL: nothing more goes through it."""
        with self._lock:
            first, _ = self._urls.get(url, (0.0, 0))
            self._urls[url] = (first, RESPONSE_URL_USES)

    def _prune(self, now: float) -> None:
        for url in [u for u, (first, _) in self._urls.items() if now - first > 2 * 3600]:
            del self._urls[url]


_BOOK = _UrlBook()


class PrivateReply:
    """Answers one user privately for one request, by whichever route Slack still takes."""

    def __init__(
        self,
        *,
        client: WebClient,
        user_id: str,
        channel_id: str | None,
        response_url: str | None,
        clock: Callable[[], float] = time.monotonic,
        backoff_factor: float = 0.5,
    ) -> None:
        self.client, self.user_id, self.channel_id = client, user_id, channel_id
        self.response_url = response_url
        self._clock = clock
        self._backoff = BackoffRetryIntervalCalculator(backoff_factor=backoff_factor)
        if response_url:
            _BOOK.first_seen(response_url, clock())

    def __call__(
        self,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        *,
        response_type: str = "ephemeral",
        replace_original: bool = False,
        **_: Any,
    ) -> str:
        """Send the answer; returns the route it took."""
        if self.response_url and _BOOK.take(self.response_url, self._clock()):
            body: dict[str, Any] = {"text": text, "response_type": response_type}
            if blocks:
                body["blocks"] = blocks
            if replace_original:
                body["replace_original"] = True
            if self._through_response_url(body):
                return "response_url"
        if self.channel_id:
            try:
                self.client.chat_postEphemeral(
                    channel=self.channel_id, user=self.user_id, text=text, blocks=blocks
                )
                return "ephemeral"
            except SlackApiError as exc:
                log.info("cannot answer %s in %s (%s); sending a direct message",
                         self.user_id, self.channel_id, exc.response.get("error"))  # fmt: skip
        self.client.chat_postMessage(channel=self.user_id, text=text, blocks=blocks)
        return "direct message"

    def _through_response_url(self, body: dict[str, Any]) -> bool:
        assert self.response_url is not None
        hook = WebhookClient(
            url=self.response_url,
            timeout=HOOK_TIMEOUT_SECONDS,
            retry_handlers=[
                ConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=self._backoff),
                RateLimitErrorRetryHandler(max_retry_count=2),  # waits Retry-After
                ServerErrorRetryHandler(max_retry_count=2, interval_calculator=self._backoff),
            ],
        )
        try:
            answer = hook.send_dict(body)
        except Exception as exc:  # the connection failed after the retries
            log.warning("response_url unreachable (%s); answering through the Web API",
                        type(exc).__name__)  # fmt: skip
            _BOOK.spend(self.response_url)
            return False
        if answer.status_code == 200:
            return True
        log.info("response_url refused (%s %s); answering through the Web API",
                 answer.status_code, (answer.body or "")[:80])  # fmt: skip
        _BOOK.spend(self.response_url)
        return False
