"""Prometheus metrics and the readiness probe: what dashboards and load balancers ask.

Everything lives in a registry of our own (never prometheus_client's global one), so each
process, and each test, sees only its own series. GHL figures are read from the client at
scrape time; the outbox from the store at scrape time; jobs, SMS outcomes, webhooks and the
Slack ack latency are counted as they happen.

    metrics = Metrics()
    metrics.watch_ghl(client)
    metrics.watch_outbox(engine)
    routes = {"/metrics": make_metrics_app(metrics),
              "/readyz": make_readyz_app(Readiness(engine=engine, ghl_check=lambda: check_ghl(c)))}
    metrics.observe_ack_latency(0.12)      # the Slack bot, after each ack
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, text
from sqlmodel import select

from ghl.client import GHLClient
from ghl.health import GHLHealth
from store.db import session_scope
from store.models import OutboxItem
from store.outbox import pending_stats
from store.types import utcnow

log = logging.getLogger("dealfinder.metrics")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
SMS_KINDS = ("sms", "sms_reply")  # the notifier's outbox kinds that are texts
_REASON = re.compile(r"^[a-z][a-z_]{0,31}$")
# Slack wants an ack within 3 s; the buckets resolve the range that matters around it.
_ACK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 5.0)


def reason_code(detail: str | None) -> str:
    """The stable code an outcome's detail starts with ("quiet_hours: ..." -> "quiet_hours")."""
    head = (detail or "").split(":", 1)[0].strip()
    return head if _REASON.match(head) else "other"


class Metrics:
    """DealFinder's series, in one registry; pass one instance to everything that counts."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.sms = Counter(
            "dealfinder_sms", "SMS delivery outcomes by reason", ["outcome", "reason"], registry=r
        )
        self.outbox_outcomes = Counter(
            "dealfinder_outbox_outcomes",
            "Outbox items taken to an outcome, by kind",
            ["kind", "outcome"],
            registry=r,
        )
        self.job_runs = Counter(
            "dealfinder_job_runs", "Scheduled job runs by outcome", ["job", "outcome"], registry=r
        )
        self.job_seconds = Histogram(
            "dealfinder_job_duration_seconds", "How long job runs take", ["job"], registry=r
        )
        self.webhooks = Counter(
            "dealfinder_webhook_events",
            "GHL webhooks by type and outcome",
            ["type", "outcome"],
            registry=r,
        )
        self.slack_ack = Histogram(
            "dealfinder_slack_ack_latency_seconds",
            "Time from a Slack request to its ack",
            buckets=_ACK_BUCKETS,
            registry=r,
        )
        self._lock = threading.Lock()
        self._ghl: _GHLCollector | None = None

    # -- counting --------------------------------------------------------------------------

    def observe_ack_latency(self, seconds: float) -> None:
        """Record how long the bot took to ack one Slack request (Slack allows 3 s)."""
        self.slack_ack.observe(seconds)

    def count_job(self, job_id: str, outcome: str, seconds: float | None = None) -> None:
        """One job tick: outcome "ok", "failed" or "skipped"."""
        self.job_runs.labels(job=job_id, outcome=outcome).inc()
        if seconds is not None:
            self.job_seconds.labels(job=job_id).observe(seconds)

    def count_webhook(self, event_type: str, outcome: str) -> None:
        self.webhooks.labels(type=event_type, outcome=outcome).inc()

    def count_delivery(self, outcomes: Iterable[Any]) -> None:
        """Count a notifier `DeliveryReport`'s outcomes: every item by kind, and texts (kinds
        "sms" and "sms_reply", not GHL follow-up writes) by status and reason code."""
        for outcome in outcomes:
            self.outbox_outcomes.labels(kind=outcome.kind, outcome=outcome.status).inc()
            if outcome.kind not in SMS_KINDS:
                continue
            reason = "" if outcome.status == "sent" else reason_code(outcome.detail)
            self.sms.labels(outcome=outcome.status, reason=reason).inc()

    # -- read at scrape time ---------------------------------------------------------------

    def watch_ghl(self, client: GHLClient) -> None:
        """Expose the client's request counts and rate-limit headroom, labelled with its
        location; call once per location's client (issue 14: one deployment, many)."""
        with self._lock:
            if self._ghl is None:
                self._ghl = _GHLCollector()
                self.registry.register(self._ghl)
            self._ghl.clients[client.location_id] = client

    def watch_outbox(self, engine: Engine) -> None:
        """Expose the outbox's size by status and how long the oldest due item has waited."""
        self.registry.register(_OutboxCollector(engine))

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


class _GHLCollector(Collector):
    """Every watched location's GHL client, each series labelled `location`."""

    def __init__(self) -> None:
        self.clients: dict[str, GHLClient] = {}

    def collect(self) -> Iterator[Metric]:
        clients = sorted(self.clients.items())
        requests = CounterMetricFamily(
            "dealfinder_ghl_requests", "GHL HTTP requests by status", labels=["location", "status"]
        )
        retries = CounterMetricFamily("dealfinder_ghl_retries", "GHL retries", labels=["location"])
        limited = CounterMetricFamily(
            "dealfinder_ghl_rate_limited", "GHL 429 answers", labels=["location"]
        )
        errors = CounterMetricFamily(
            "dealfinder_ghl_errors",
            "GHL calls that failed, by error class",
            labels=["location", "error"],
        )
        for location, client in clients:
            stats = client.stats
            # dict() of a Counter copies in one step under the GIL while the transport counts.
            for status, count in sorted(dict(stats.by_status).items()):
                requests.add_metric([location, str(status)], count)
            retries.add_metric([location], stats.retries)
            limited.add_metric([location], stats.rate_limited)
            for name, count in sorted(dict(stats.errors).items()):
                errors.add_metric([location, name], count)
        yield from (requests, retries, limited, errors)
        yield from _headroom(clients)


def _headroom(clients: list[tuple[str, GHLClient]]) -> Iterator[Metric]:
    gauges = {
        name: GaugeMetricFamily(f"dealfinder_ghl_{name}", f"GHL: {what}", labels=["location"])
        for name, what in (
            ("burst_remaining", "requests left in the burst window"),
            ("burst_max", "the burst window's limit"),
            ("daily_remaining", "requests left today"),
            ("daily_max", "the daily limit"),
        )
    }
    for location, client in clients:
        try:
            room = client.remaining()
        except Exception:  # the shared limiter's backend (database, Redis) is unreachable
            log.warning("GHL headroom of %s unavailable for /metrics", location, exc_info=True)
            continue
        for name, gauge in gauges.items():
            gauge.add_metric([location], getattr(room, name))
    yield from gauges.values()


class _OutboxCollector(Collector):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("dealfinder_store_up", "1 when the database answered the scrape")
        try:
            now = utcnow()
            with session_scope(self.engine, readonly=True) as session:
                rows = session.exec(
                    select(OutboxItem.status, func.count()).group_by(OutboxItem.status)
                ).all()
                due, oldest = pending_stats(session=session, now=now)
        except Exception:
            log.warning("outbox figures unavailable for /metrics", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        items = GaugeMetricFamily(
            "dealfinder_outbox_items", "Outbox items by status", labels=["status"]
        )
        for status, count in sorted(rows):
            items.add_metric([str(status)], count)
        yield items
        yield GaugeMetricFamily("dealfinder_outbox_due", "Outbox items due and not done", value=due)
        yield GaugeMetricFamily(
            "dealfinder_outbox_oldest_due_seconds",
            "How long the oldest due item has waited",
            value=oldest,
        )


def make_metrics_app(metrics: Metrics) -> WSGIApp:
    """The `/metrics` endpoint: Prometheus text format for `metrics`' registry."""
    return make_wsgi_app(metrics.registry)


class Readiness:
    """Is this instance ready for traffic: database reachable and GHL reachable.

    GHL's answer is kept for `cache_seconds` so frequent probes cost one GHL call per window,
    not one each (GHL allows 100 requests per 10 s per location, shared with real work).
    """

    def __init__(
        self,
        *,
        engine: Engine,
        ghl_check: Callable[[], GHLHealth],
        cache_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.ghl_check = ghl_check
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._ghl: tuple[float, GHLHealth] | None = None

    def ghl(self) -> GHLHealth:
        with self._lock:
            now = self.clock()
            if self._ghl is None or now - self._ghl[0] >= self.cache_seconds:
                try:
                    answer = self.ghl_check()
                except Exception as exc:  # check_ghl maps GHL errors; this is anything else
                    answer = GHLHealth(ok=False, state="down", problems=[type(exc).__name__])
                self._ghl = (now, answer)
            return self._ghl[1]

    def check(self) -> tuple[bool, dict[str, Any]]:
        """(ready, details); details say what is not ready and why."""
        reasons: list[str] = []
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            database = "ok"
        except Exception as exc:
            database = "unreachable"
            reasons.append(f"database unreachable ({type(exc).__name__})")
        ghl = self.ghl()
        if ghl.state == "down":
            reasons.extend(f"GHL: {problem}" for problem in ghl.problems or ["unreachable"])
        details = {"ready": not reasons, "database": database, "ghl": ghl.state, "reasons": reasons}
        return not reasons, details


def make_readyz_app(readiness: Readiness) -> WSGIApp:
    """The `/readyz` endpoint: 200 when ready, 503 with the reasons when not (JSON)."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        ready, details = readiness.check()
        body = json.dumps(details).encode()
        status = "200 OK" if ready else "503 Service Unavailable"
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        start_response(status, headers)
        return [body]

    return app
