"""GHL's INSTALL and UNINSTALL webhooks for DealFinder's Marketplace app.

- INSTALL (a location, or a company whose locations came through the OAuth callback): the
  location is read from GHL with its own tokens (`GET /locations/{id}`: name, time zone) and
  recorded, the setup validator runs against it, and its table goes to the ops channel. When
  the event arrives before the callback stored the tokens, handling fails and the stored event
  is retried by the webhook job until they are there.
- UNINSTALL: the location's tokens are erased and its grant marked uninstalled, so every GHL
  call for it stops with "needs re-install" (jobs and commands for it do nothing); its deals,
  buyers and history stay in the store. The ops channel is told once.

    events = InstallEvents(engine=engine, vault=vault, client_for=parts.client_for,
                           config=config, post_ops=post)
    events.handle("INSTALL", payload, now)   # -> "installed at loc_1 (validator: 3 problem(s))"
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

import bot.slack.messages as msg
from bot.slack.escape import escape
from ghl.client import GHLClient
from services.config import DealConfig
from services.validator import ValidationReport, validate_setup
from store.db import session_scope
from store.installs import get_install, record_install, record_uninstall
from store.models_oauth import GrantStatus
from store.oauth_tokens import TokenVault

log = logging.getLogger("dealfinder.webhooks")

INSTALL_TYPES = frozenset({"INSTALL", "UNINSTALL"})
Poster = Callable[[str], bool]


def validator_text(location: str, report: ValidationReport) -> str:
    """The validator's table as one ops-channel message (lines escaped by `msg`)."""
    rows = sorted(report.rows, key=lambda row: row.ok)
    lines = [f":inbox_tray: *DealFinder installed at {escape(location)}*"]
    lines.append(msg.validate_heading(report.ok, len(report.failures), report.location))
    lines += [msg.check_row(row.ok, row.check, row.detail, row.fix) for row in rows]
    return "\n".join(lines)


class InstallEvents:
    """Handles the app's INSTALL / UNINSTALL events; other types are not its business."""

    def __init__(
        self,
        *,
        engine: Engine,
        vault: TokenVault,
        client_for: Callable[[str], GHLClient],
        config: DealConfig,
        post_ops: Poster,
        validate: Callable[[GHLClient, DealConfig], ValidationReport] = validate_setup,
    ) -> None:
        self.engine, self.vault, self.client_for = engine, vault, client_for
        self.config, self.post_ops, self.validate = config, post_ops, validate

    def handle(self, event_type: str, payload: Mapping[str, Any], now: datetime) -> str:
        body = dict(payload)
        location_id = body.get("locationId")
        if not isinstance(location_id, str) or not location_id:
            # A company-level event: its locations are installed through the OAuth callback.
            return f"{event_type.lower()} without a location; nothing to do"
        if event_type == "INSTALL":
            return self._install(location_id, body, now)
        if event_type == "UNINSTALL":
            return self._uninstall(location_id, now)
        return "no handler"

    def _install(self, location_id: str, body: dict[str, Any], now: datetime) -> str:
        client = self.client_for(location_id)
        # Raises GHLReinstallNeeded while the callback has not stored tokens yet: retried.
        location = client.locations.get()
        with session_scope(self.engine) as session:
            record_install(
                session=session,
                location_id=location_id,
                company_id=body.get("companyId"),
                name=location.name,
                timezone=location.timezone,
                now=now,
            )
        report = self.validate(client, self.config)
        label = f"{location.name or location_id} ({location_id})"
        if not self.post_ops(validator_text(label, report)):
            raise RuntimeError("the ops channel did not take the install report")  # retried
        return f"installed at {location_id} (validator: {len(report.failures)} problem(s))"

    def _uninstall(self, location_id: str, now: datetime) -> str:
        reason = "the app was uninstalled in GHL"
        with session_scope(self.engine, readonly=True) as session:
            known = get_install(session=session, location_id=location_id) is not None
        if not known and self.vault.status_of(location_id) is None:
            return f"uninstall at {location_id}: not installed here; nothing to do"
        self.vault.disable(location_id, status=GrantStatus.UNINSTALLED, reason=reason, now=now)
        with session_scope(self.engine) as session:
            changed = record_uninstall(session=session, location_id=location_id, now=now)
        if changed:
            self.post_ops(
                f":outbox_tray: *DealFinder was uninstalled at {escape(location_id)}*: its GHL "
                "tokens are erased and nothing more is sent to GHL for it; its deals, buyers "
                "and history are kept. Re-install at `/ghl/install` to resume."
            )
        return f"uninstalled at {location_id} (data kept)"
