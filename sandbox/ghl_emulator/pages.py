"""Read-only HTML pages standing in for GHL's web app, so a link a person clicks in the sandbox
("Open in GHL") opens the emulator's record rather than the real GHL.

    GET /_emulator/app/v2/location/{locationId}/opportunities/list?opportunityId={id}

The path mirrors the web app's (`GHLClient.opportunity_url`), so the client only swaps the
host. No auth, no rate limits: like the rest of `/_emulator/*`, it is not part of GHL's API.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from sandbox.ghl_emulator.state import Contact, State

APP_PREFIX = "/_emulator/app"
_OPPORTUNITY = re.compile(r"^/_emulator/app/v2/location/([^/]+)/opportunities/list$")
_STYLE = (
    "body{font:15px/1.5 system-ui,sans-serif;margin:24px;color:#1d1c1d;max-width:760px}"
    "th{text-align:left;padding:4px 16px 4px 0;color:#555;vertical-align:top}td{padding:4px 0}"
    ".tag{background:#eef;border-radius:3px;padding:0 4px;margin-right:4px}"
)


def route(state: State, request: Request) -> Response | None:
    """The page for this request, or None when the path is not one of the app's pages."""
    match = _OPPORTUNITY.match(request.path.rstrip("/"))
    if request.method != "GET" or match is None:
        return None
    location_id, opportunity_id = match.group(1), request.args.get("opportunityId", "")
    with state.lock:
        opp = state.opportunities.get(opportunity_id)
        if opp is None or opp.location_id != location_id:
            return _page("Opportunity not found", "<p>No such opportunity here.</p>", 404)
        pipeline = state.pipelines.get(opp.pipeline_id)
        stage = pipeline.stage(opp.stage_id) if pipeline else None
        owner = state.users.get(opp.assigned_to or "")
        contact = state.contacts.get(opp.contact_id)
        notes = [n for n in state.notes.values() if n.contact_id == opp.contact_id]
        tasks = [t for t in state.tasks.values() if t.contact_id == opp.contact_id]
        rows = [
            ("Opportunity", opp.name),
            ("Pipeline", pipeline.name if pipeline else opp.pipeline_id),
            ("Stage", stage.name if stage else opp.stage_id),
            ("Status", opp.status),
            ("Value", f"${opp.monetary_value:,.0f}" if opp.monetary_value is not None else "—"),
            ("Owner", f"{owner.first_name} {owner.last_name}" if owner else "unassigned"),
            ("Contact", _contact_name(contact) if contact else opp.contact_id),
            ("Source", opp.source or "—"),
            ("Updated", _when(opp.updated_at)),
        ]
        body = "<table>" + "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows
        )
        body += "</table>"
        if tasks:
            items = "".join(
                f"<li>{'☑' if t.completed else '☐'} {html.escape(t.title)} "
                f"(due {html.escape(t.due_date)})</li>"
                for t in tasks
            )
            body += f"<h2>Tasks</h2><ul>{items}</ul>"
        if notes:
            items = "".join(
                f"<li><pre>{html.escape(n.body)}</pre></li>"
                for n in sorted(notes, key=lambda n: n.date_added)
            )
            body += f"<h2>Notes</h2><ul>{items}</ul>"
    return _page(opp.name, body, 200)


def _contact_name(contact: Contact) -> str:
    name = contact.name or " ".join(p for p in (contact.first_name, contact.last_name) if p)
    return f"{name or contact.id} {contact.phone or ''}".strip()


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _page(title: str, body: str, status: int) -> Response:
    text = (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>"
        f"{html.escape(title)} · GHL emulator</title><style>{_STYLE}</style></head><body>"
        f"<p><small>GHL emulator — a read-only view of the record</small></p>"
        f"<h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return Response(text, status=status, mimetype="text/html")
