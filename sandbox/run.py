"""The sandbox: DealFinder running for real against a GHL emulator and a Slack fake.

`start_sandbox()` brings up every part the way production wires it — the GHL client over HTTP
to the emulator (demo sub-account), the store (a throw-away SQLite file), the Slack bot served
over HTTP (signed requests, bolt's verification on), the bot's Web API client pointed at the
Slack fake — plus the sandbox page. `run_scenario()` then does a morning's work: buyer sync,
an MLS batch import, hot-deal alerts, buyer matching and SMS (quiet hours defer some), and a
health check posted to the ops channel.

    with start_sandbox() as sandbox:
        summary = run_scenario(sandbox)
        print(sandbox.page_url)
"""

from __future__ import annotations

import contextlib
import secrets
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.settings import Settings, load_settings
from ghl.client import GHLClient
from ghl.retry import RetryPolicy
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID, Emulator, EmulatorConfig
from sandbox.ghl_emulator.pages import APP_PREFIX
from sandbox.server import SandboxApp
from sandbox.slack_fake import BOT_TOKEN, SlackDriver, SlackFake
from sandbox.slack_fake.config import FakeConfig

SAMPLE_BATCH = Path(__file__).resolve().parents[1] / "services" / "samples" / "mls_batch.json"
DEALS_CHANNEL = "C0DEALS"
OPS_CHANNEL = "C0OPS"
SANDBOX_GHL_HOST = "127.0.0.1"


@dataclass
class Sandbox:
    settings: Settings
    emulator: Emulator
    fake: SlackFake
    ghl: GHLClient
    engine: Any
    services: Any  # bot.slack.app.BotServices
    driver: SlackDriver
    bot_url: str
    page_url: str
    workdir: Path
    clock: Callable[[], datetime]
    _stack: contextlib.ExitStack = field(repr=False, default_factory=contextlib.ExitStack)

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def evening_clock(start: datetime | None = None) -> Callable[[], datetime]:
    """A clock that reads 01:30 UTC of the current day and runs on from there in real time.

    01:30 UTC is 20:30 in New York (Florida's 8 PM SMS cut-off has passed, the rest of the East
    still texts until 9 PM), 19:30 in Chicago, 18:30 in Denver and 17:30 in Los Angeles: the
    sandbox shows sends, state rules and quiet-hours deferrals at any hour it is run.
    """
    real_start = datetime.now(UTC)
    anchor = start or real_start.replace(hour=1, minute=30, second=0, microsecond=0)
    if anchor > real_start:  # before 01:30 UTC: yesterday's evening, never a clock ahead of GHL
        anchor -= timedelta(days=1)
    return lambda: anchor + (datetime.now(UTC) - real_start)


def start_sandbox(
    *,
    buyers: int = 200,
    page_port: int = 0,
    mapping_file: Path | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Sandbox:
    """Start the emulator, the Slack fake, the store, the bot and the page; all on 127.0.0.1."""
    clock = clock or evening_clock()
    from bot.runtime import Runtime
    from bot.slack.app import make_web_client
    from bot.web.server import build_wsgi_app, start_http_in_thread
    from store.db import make_engine, migrate

    stack = contextlib.ExitStack()
    try:
        emulator = Emulator(EmulatorConfig())
        emulator.seed_demo(buyers=buyers, seed=1)
        ghl_server = stack.enter_context(emulator.serve())
        # One clock: Slack's message times are on the simulation's clock too.
        # The sandbox's GHL links are on 127.0.0.1 (the page server stands in for GHL's web
        # app), so Slack sends `link_shared` for them, as for app.gohighlevel.com.
        fake = SlackFake(
            FakeConfig(unfurl_domains=(*FakeConfig().unfurl_domains, SANDBOX_GHL_HOST)),
            clock=lambda: clock().timestamp(),
        )
        slack_server = stack.enter_context(fake.serve())
        page = SandboxApp(
            fake=fake, driver=None, clock=clock, ghl_app_url=f"{ghl_server.url}{APP_PREFIX}"
        )
        page_http = start_http_in_thread(page, host=SANDBOX_GHL_HOST, port=page_port)
        stack.callback(page_http.stop)
        workdir = Path(tempfile.mkdtemp(prefix="dealfinder-sandbox-"))
        stack.callback(shutil.rmtree, workdir, ignore_errors=True)  # runs after the engine's
        signing_secret = secrets.token_hex(16)
        overrides: dict[str, Any] = {
            "GHL_API_KEY": DEFAULT_TOKEN,
            "GHL_LOCATION_ID": DEMO_LOCATION_ID,
            "GHL_BASE_URL": ghl_server.url,
            "DATABASE_URL": f"sqlite:///{workdir / 'sandbox.db'}",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": signing_secret,
            "SLACK_API_URL": slack_server.api_url,
            "SLACK_DEALS_CHANNEL": DEALS_CHANNEL,
            "SLACK_OPS_CHANNEL": OPS_CHANNEL,
            "DEALFINDER_DRY_RUN": True,  # the sandbox roles (bot/slack/roles.example.json) apply
            "GHL_APP_DOMAINS": f"app.gohighlevel.com,{SANDBOX_GHL_HOST}",
        }
        if mapping_file:
            overrides["DEALFINDER_MAPPING_FILE"] = mapping_file
        settings = load_settings(**overrides)
        engine = make_engine(settings.database_url)
        stack.callback(engine.dispose)
        migrate(engine)
        ghl = GHLClient(
            token=DEFAULT_TOKEN,
            location_id=DEMO_LOCATION_ID,
            base_url=ghl_server.url,
            retry=RetryPolicy(max_retries=4, base_delay=0.2),
            # "Open in GHL" goes to the page server, which sends it on to the emulator's page.
            app_url=page_http.url,
        )
        stack.callback(ghl.close)
        web = make_web_client(settings)  # slack_sdk's retry handlers, as in production
        # The parts as `dealfinder serve` builds them, over the sandbox's clients and clock.
        runtime = Runtime(settings, engine=engine, ghl=ghl, web_client=web, clock=clock)
        services = runtime.services
        bolt = runtime.slack_app()
        bot_http = start_http_in_thread(build_wsgi_app(bolt_app=bolt))
        stack.callback(bot_http.stop)
        driver = SlackDriver(f"{bot_http.url}/slack/events", signing_secret, fake)
        page.driver = driver
    except BaseException:
        stack.close()
        raise
    return Sandbox(
        settings=settings,
        emulator=emulator,
        fake=fake,
        ghl=ghl,
        engine=engine,
        services=services,
        driver=driver,
        bot_url=bot_http.url,
        page_url=page_http.url + "/",
        workdir=workdir,
        clock=clock,
        _stack=stack,
    )


@dataclass
class ScenarioSummary:
    buyers_synced: int = 0
    buyers_excluded: int = 0
    imported: Counter = field(default_factory=Counter)
    hot_deals: list[str] = field(default_factory=list)
    alerts_posted: int = 0
    sms: Counter = field(default_factory=Counter)  # sent, deferred, excluded, skipped
    deferred_until: list[str] = field(default_factory=list)
    health: str = ""
    ghl: dict[str, int] = field(default_factory=dict)
    pasted: str = ""  # the deal whose GHL link an agent pasted in #deals (it unfurls)

    def lines(self) -> list[str]:
        return [
            f"buyers synced from GHL: {self.buyers_synced} ({self.buyers_excluded} kept out "
            "of matching with a reason)",
            "import: " + ", ".join(f"{n} {k}" for k, n in sorted(self.imported.items())),
            f"hot deals: {len(self.hot_deals)} ({', '.join(self.hot_deals)}), "
            f"{self.alerts_posted} alerts in #deals",
            "buyer SMS: " + ", ".join(f"{n} {k}" for k, n in sorted(self.sms.items())),
            *(f"  deferred: {d}" for d in self.deferred_until[:3]),
            f"a GHL link pasted in #deals: {self.pasted or 'none'} (the bot previews it)",
            f"health: {self.health}",
            "in GHL: " + ", ".join(f"{n} {k}" for k, n in self.ghl.items()),
        ]


def run_scenario(sandbox: Sandbox, *, batch: Path = SAMPLE_BATCH) -> ScenarioSummary:
    """A morning's work, through the same services the bot and the CLI use."""
    from ghl.health import check_ghl
    from services.buyer_sync import sync_buyers
    from services.importer import run_import
    from store.db import session_scope
    from store.state import record_health_check

    summary = ScenarioSummary()
    services = sandbox.services
    # Stamped on the simulation's clock, the one `/deal match` reads the age with.
    report = sync_buyers(
        client=sandbox.ghl, engine=sandbox.engine, config=services.config, now=sandbox.clock()
    )
    summary.buyers_synced, summary.buyers_excluded = report.seen, len(report.excluded)

    imported = run_import(
        batch,
        client=sandbox.ghl,
        engine=sandbox.engine,
        config=services.config,
        on_hot_deal=[services.alerts.on_hot_deal],
        rules=services.rules,
    )
    for result in imported.results:
        summary.imported[result.action] += 1
        if result.hot:
            summary.hot_deals.append(result.mls_id)
    summary.alerts_posted = len(sandbox.fake.messages(DEALS_CHANNEL))

    for mls_id in summary.hot_deals:
        outcome = services.actions.notify(mls_id)
        if outcome is None:
            continue
        for planned in outcome.plan.entries:
            local = planned.local_send_at
            if planned.group == "deferred" and local is not None:
                summary.deferred_until.append(
                    f"{planned.name or planned.contact_id} for {mls_id} until "
                    f"{local:%a %H:%M} {planned.zone} ({planned.reason})"
                )
        services.alerts.refresh(mls_id)

    _drain_outbox(sandbox)
    summary.sms = _sms_outcomes(sandbox.engine)
    if summary.hot_deals:
        from sandbox.paste import paste_deal_link

        summary.pasted = paste_deal_link(sandbox, summary.hot_deals[-1])
    health = check_ghl(sandbox.ghl)
    summary.health = health.state
    with session_scope(sandbox.engine) as session:  # as the worker's health job records it
        record_health_check(session=session, state=health.state, details={}, now=sandbox.clock())
    services.alerts.client.chat_postMessage(
        channel=OPS_CHANNEL,
        text=f"DealFinder health check at {sandbox.clock():%H:%M} UTC: GHL {health.state}, "
        f"burst headroom {health.burst_remaining}/{health.burst_max}",
    )
    state = sandbox.emulator.state
    summary.ghl = {
        "opportunities": len(state.opportunities),
        "tasks": len(state.tasks),
        "notes": len(state.notes),
        "SMS sent": len(state.messages),
    }
    return summary


def _sms_outcomes(engine: Any) -> Counter:
    """What became of every buyer text the outbox holds: sent, deferred, excluded, ..."""
    from sqlalchemy import func
    from sqlmodel import select

    from store.db import session_scope
    from store.models import OutboxItem

    with session_scope(engine, readonly=True) as session:
        rows = session.exec(
            select(OutboxItem.status, func.count())
            .where(OutboxItem.kind == "sms")
            .group_by(OutboxItem.status)
        ).all()
    return Counter({str(status): count for status, count in rows})


def _drain_outbox(sandbox: Sandbox) -> None:
    """Run the worker's every-minute release job once: deliver every item that is due."""
    from bot.ops.jobs import release_deferred_sms

    desk = sandbox.services.desk
    release_deferred_sms(
        engine=sandbox.engine, client=sandbox.ghl, rules=desk.rules, config=desk.config,
        now=sandbox.clock(), worker_id="sandbox-release", limit=200,
        location_timezone=desk.location_timezone(),
    )  # fmt: skip
