"""Events API listeners: `link_shared` (previews of pasted GHL links) and `app_home_opened`.

Each acks at once and does its work on the services' pool. Slack retries an event it thinks
was not delivered (`X-Slack-Retry-Num`) with the same `event_id`; an id seen before is not
worked again in this process, and a second `chat.unfurl` from another process replaces the
first preview rather than adding one (Slack: "subsequent attempts with the same ts and channel
... will modify the same attachments"), so a link never gets two cards.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.slack.listeners.authz import NO_PERMISSION, Permission
from bot.slack.listeners.common import services_of
from bot.slack.roles import WORK_GROUP_MAX_AGE

if TYPE_CHECKING:
    from bot.slack.app import BotServices

log = logging.getLogger("dealfinder.bot.events")

SEEN_EVENTS = 5000  # event ids remembered per process; Slack retries within minutes


class SeenEvents:
    """Event ids already taken on (bounded, oldest forgotten first); thread-safe."""

    def __init__(self, size: int = SEEN_EVENTS):
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def first_time(self, event_id: str | None) -> bool:
        if not event_id:
            return True
        with self._lock:
            if event_id in self._ids:
                return False
            self._ids[event_id] = None
            while len(self._ids) > self._size:
                self._ids.popitem(last=False)
            return True


def ack_event(ack: Ack) -> None:
    ack()


def unfurl_links(services: BotServices, body: dict[str, Any], client: WebClient) -> None:
    """Preview the shared GHL links the sharer may see; nothing when there is none."""
    if services.previews is None:
        return
    if body.get("is_ext_shared_channel"):
        # A Slack Connect channel holds people of other organisations, whom no roles file
        # names: a deal card there would show the deal to them.
        log.info("not previewing GHL links in an externally shared channel")
        return
    event = body.get("event") or {}
    # The sharer's role is read now (group members as fresh as `guarded`'s re-check), not taken
    # from the request: a preview shows to the channel.
    role = services.roles.role_of(event.get("user"), max_age=WORK_GROUP_MAX_AGE)
    services.previews.preview(event, role=role)


def open_home(services: BotServices, body: dict[str, Any], client: WebClient) -> None:
    """The person opened the Home tab (not the Messages tab): publish it, debounced."""
    event = body.get("event") or {}
    if event.get("tab") == "home" and event.get("user") and services.home is not None:
        services.home.request(str(event["user"]))


Work = Callable[["BotServices", dict[str, Any], WebClient], None]


def _lazy(work: Work, seen: SeenEvents, *, permission: Permission) -> Callable[..., None]:
    """Events have no one to answer, so no `guarded`: `work` checks `permission` itself when it
    runs (declared here for the listener tests that hold every lazy listener to a re-check)."""

    def lazy(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        if not seen.first_time(body.get("event_id")):
            log.info("event %s was retried by Slack; already taken on", body.get("event_id"))
            return
        services = services_of(context)
        services.work.submit(_run, work, services, body, client)

    lazy.__name__ = f"lazy_{work.__name__}"
    lazy.permission = permission  # type: ignore[attr-defined]
    return lazy


def _run(work: Work, services: BotServices, body: dict[str, Any], client: WebClient) -> None:
    try:
        work(services, body, client)
    except Exception:  # nobody asked, so nobody to tell: log it with the traceback
        event_type = (body.get("event") or {}).get("type")
        log.exception("%s failed for a %s event", work.__name__, event_type)


def register(app: App) -> None:
    seen = SeenEvents()
    app.event("link_shared")(
        ack=ack_event, lazy=[_lazy(unfurl_links, seen, permission="deal.show")]
    )
    app.event("app_home_opened")(
        ack=ack_event, lazy=[_lazy(open_home, seen, permission=NO_PERMISSION)]
    )
