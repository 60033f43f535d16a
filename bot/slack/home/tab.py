"""The App Home tab: each person's deals, tasks and the team's pipeline, published with
`views.publish` when they open the tab and when something of theirs changes (a claim).

Publishing is debounced per person: at most one publish per `min_interval` seconds, and a
change inside that window is published once at its end, so a burst of clicks costs one call
(views.publish is rate limited per workspace, and a Home tab re-renders for every publish).

    home = HomeTab(desk=desk, roles=roles, client=web_client, work=pool, clock=clock)
    home.request("U0AGENT01")            # publish now, or once the window ends
    home.on_claim("TPA-1", actor="U0AGENT01", previous=None)    # a DeskActions claim hook
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import UTC, datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.slack.home.blocks import LISTED, HomeData, TaskLine, home_view
from bot.slack.roles import RoleDirectory, allowed
from ghl.errors import GHLError
from services.deal_index import claimed_by, owned_links, stage_counts
from services.desk import DealDesk
from store.db import session_scope
from store.outbox_admin import failed_items, status_counts
from store.state import latest_health_check

log = logging.getLogger("dealfinder.bot.home")

COUNTED = 100  # claimed and hot deals read per tab (store reads only)
MIN_INTERVAL_SECONDS = 10.0  # per person; a claim right after opening the tab waits this long


def publish_delay(*, last_at: datetime | None, now: datetime, min_interval: float) -> float:
    """Seconds to wait before publishing someone's Home tab again (0: publish now).

    A clock that went backwards publishes now rather than waiting an unknown time.
    """
    if last_at is None:
        return 0.0
    elapsed = (now - last_at).total_seconds()
    if elapsed < 0 or elapsed >= min_interval:
        return 0.0
    return min_interval - elapsed


def tasks_affordable(*, burst_remaining: int, burst_max: int, calls: int) -> bool:
    """Whether reading `calls` task lists from GHL leaves a fifth of the burst window for deal
    work: the Home tab is a nicety, imports, claims and texts are the job (GHL allows 100
    calls per 10 s per location)."""
    reserve = burst_max // 5
    return burst_remaining - calls >= reserve


def due_at(due: str | None) -> datetime | None:
    """A GHL task's dueDate (ISO 8601, "Z" for UTC) as an aware datetime; None if unreadable."""
    if not due:
        return None
    try:
        parsed = datetime.fromisoformat(due.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class HomeTab:
    """Builds and publishes Home tabs; thread-safe."""

    def __init__(
        self,
        *,
        desk: DealDesk,
        roles: RoleDirectory,
        client: WebClient,
        work: Executor,
        clock: Callable[[], datetime],
        min_interval: float = MIN_INTERVAL_SECONDS,
    ):
        self.desk = desk
        self.roles = roles
        self.client = client
        self.work = work
        self.clock = clock
        self.min_interval = min_interval
        self._last: dict[str, datetime] = {}
        self._pending: set[str] = set()
        self._timers: set[threading.Timer] = set()
        self._closed = False
        self._lock = threading.Lock()

    # -- when to publish -----------------------------------------------------------------

    def request(self, user_id: str) -> None:
        """Publish `user_id`'s Home tab now, or once at the end of their debounce window."""
        with self._lock:
            if user_id in self._pending:
                return  # a publish is coming; it will read the newest state
            delay = publish_delay(
                last_at=self._last.get(user_id), now=self.clock(), min_interval=self.min_interval
            )
            self._pending.add(user_id)
        if delay <= 0:
            self._submit(user_id)
            return
        timer = threading.Timer(delay, self._submit, args=(user_id,))
        timer.daemon = True
        with self._lock:
            if self._closed:
                return
            self._timers.add(timer)
        timer.start()

    def _submit(self, user_id: str) -> None:
        with self._lock:
            self._timers = {t for t in self._timers if t is not threading.current_thread()}
            if self._closed:
                return
        try:
            self.work.submit(self.publish, user_id)
        except RuntimeError:  # the pool was shut down between the check and the submit
            log.info("not publishing the Home tab of %s: shutting down", user_id)

    def close(self) -> None:
        """Cancel the publishes still waiting for their window (the process is stopping)."""
        with self._lock:
            self._closed = True
            timers, self._timers = self._timers, set()
        for timer in timers:
            timer.cancel()

    def on_claim(self, mls_id: str, *, actor: str, previous: str | None) -> None:
        """A DeskActions claim hook: the claimer's tab, and the tab of whom it was taken from.

        Only tabs this process has published are refreshed: a tab nobody opened costs no call,
        and opening a tab always publishes it afresh.
        """
        for user_id in sorted({actor} if previous is None else {actor, previous}):
            with self._lock:
                known = user_id in self._last
            if known:
                self.request(user_id)

    def publish(self, user_id: str) -> None:
        """Build and publish the tab now (the work pool runs this)."""
        with self._lock:
            self._pending.discard(user_id)
            self._last[user_id] = self.clock()
        try:
            view = home_view(self.gather(user_id))
            self.client.views_publish(user_id=user_id, view=view)
        except (SlackApiError, SlackClientError, OSError) as exc:
            log.warning("could not publish the Home tab of %s: %s", user_id, exc)
        except Exception:
            log.exception("building the Home tab of %s failed", user_id)

    # -- what it shows -------------------------------------------------------------------

    def gather(self, user_id: str) -> HomeData:
        """Everything `user_id`'s tab shows, for their role (store reads; GHL for tasks only)."""
        role = self.roles.role_of(user_id)
        data = HomeData(user_id=user_id, role=role.value, now=self.clock())
        if not allowed(role, "deal.show"):
            return data
        desk = self.desk
        # Counted up to COUNTED, listed up to LISTED: the headings' numbers stay true.
        mine = claimed_by(desk.engine, actor=user_id, limit=COUNTED)
        cards = (desk.card(mls_id, live=False, buyers=False) for mls_id in mine)
        data.claimed = [card for card in cards if card is not None]
        data.hot = desk.hot_today(limit=COUNTED)
        self._tasks(data, self.roles.ghl_email(user_id))
        data.stages = self._stages()
        with session_scope(desk.engine, readonly=True) as session:
            if allowed(role, "ghl.outbox"):
                counts = status_counts(session=session)
                data.waiting_total = sum(n for (_, s), n in counts.items() if s == "failed")
                data.waiting = failed_items(session=session, limit=LISTED)
            check = latest_health_check(session=session)
            if check is not None:
                data.health_state, data.health_at = check.state, check.checked_at
        return data

    def _tasks(self, data: HomeData, email: str | None) -> None:
        from bot.slack.home import texts as txt

        if not email:
            data.tasks_problem = txt.no_ghl_user()
            return
        ghl_map = self.desk.ghl_map()
        ghl_user = ghl_map.user_id(email) if ghl_map else None
        if ghl_user is None:
            data.tasks_problem = txt.unknown_ghl_email(email)
            return
        links = owned_links(
            self.desk.engine,
            location_id=self.desk.ghl.location_id,
            ghl_user_id=ghl_user,
            limit=LISTED,
        )
        headroom = self.desk.ghl.remaining()
        needed = sum(1 for link in links if link.contact_id)
        if not tasks_affordable(burst_remaining=headroom.burst_remaining,
                                burst_max=headroom.burst_max, calls=needed):  # fmt: skip
            data.tasks_problem = txt.tasks_deferred()
            return
        found: list[TaskLine] = []
        try:
            for link in links:
                if not link.contact_id:
                    continue
                for task in self.desk.ghl.contacts.tasks(link.contact_id):
                    if task.completed or task.assigned_to != ghl_user:
                        continue
                    due = due_at(task.due_date)
                    line = TaskLine(
                        title=task.title or "(untitled task)",
                        mls_id=link.mls_id,
                        due=due,
                        overdue=due is not None and due < data.now,
                    )
                    found.append(line)
        except GHLError as exc:
            data.tasks_problem = txt.tasks_unreadable(str(exc))
            return
        data.tasks = sorted(found, key=lambda t: (t.due is None, t.due or data.now))

    def _stages(self) -> list[tuple[str, int]]:
        counts = stage_counts(self.desk.engine, location_id=self.desk.ghl.location_id)
        ghl_map = self.desk.ghl_map()
        named: list[tuple[str, int]] = []
        if ghl_map is not None:
            for key, stage_id in ghl_map.stage_ids.items():
                if counts.get(stage_id):
                    named.append((ghl_map.stage_names.get(key) or key, counts.pop(stage_id)))
        other = sum(counts.values())
        if other:
            named.append(("Other stages", other))
        return named
