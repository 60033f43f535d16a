"""GHL writes that follow a text or an opt-out, each its own outbox item (kind "ghl_followup").

After a deal text goes out the buyer is tagged, gets a note with the match reasons, a follow-up
task and the `buyer_match` workflow (each switched by `config.sms.after_send`). After an
opt-out the consent tag is removed and SMS DND set. Kept apart from the text so that a crash or
a GHL error here is retried on its own and can never send the text again.

    for key, payload in match_followups(payload=sms_payload, config=config, sent_at=now):
        outbox.enqueue(session=s, kind=KIND_FOLLOWUP, dedupe_key=key, payload=payload, ...)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from ghl.client import GHLClient
from services.config import DealConfig
from services.notify.common import PURPOSE_MATCH, followup_key

# The follow-up task's due time and title when the mapping has no task with this key.
FOLLOWUP_TASK_KEY = "buyer_followup"
DEFAULT_TASK_TITLE = "Follow up on deal text"
DEFAULT_TASK_HOURS = 24.0


class WorkflowUnknownError(LookupError):
    """The mapping names a workflow the location does not have."""


def match_followups(
    *, payload: dict[str, Any], config: DealConfig, sent_at: datetime
) -> list[tuple[str, dict[str, Any]]]:
    """The follow-up items for a deal text that just went out: (dedupe key, payload) pairs."""
    after = config.sms.after_send
    contact_id, mls_id = payload["contact_id"], payload["mls_id"]
    place = payload.get("address") or f"MLS {mls_id}"
    base = {"contact_id": contact_id, "mls_id": mls_id, "purpose": PURPOSE_MATCH}
    wanted: list[tuple[str, dict[str, Any]]] = []
    if after.tag and config.tags.notified:
        wanted.append(("tag", {"tag": config.tags.notified}))
    if after.note:
        lines = [
            f"{config.sms.brand} texted this buyer about {place} (MLS {mls_id}); "
            f"match {payload.get('score', '?')}/100:",
            *(f"- {reason}" for reason in payload.get("reasons", [])),
        ]
        wanted.append(("note", {"body": "\n".join(lines)}))
    if after.task:
        spec = next((t for t in config.tasks if t.key == FOLLOWUP_TASK_KEY), None)
        title = spec.title if spec else DEFAULT_TASK_TITLE
        hours = spec.due_hours if spec else DEFAULT_TASK_HOURS
        due = sent_at + timedelta(hours=hours)
        # The title names the property: `create_task` finds an earlier try by its title.
        wanted.append(
            ("task", {"title": f"{title}: {place} (MLS {mls_id})", "due": due.isoformat()})
        )
    workflow = config.workflows.get(PURPOSE_MATCH)
    if after.workflow and workflow:
        wanted.append(("workflow", {"workflow": workflow}))
    return [
        (
            followup_key(action=action, contact_id=contact_id, ref=mls_id),
            base | {"action": action} | extra,
        )
        for action, extra in wanted
    ]


def optout_followups(
    *, contact_id: str, consent_tags: Sequence[str], ref: str
) -> list[tuple[str, dict[str, Any]]]:
    """The GHL side of an opt-out: drop every consent tag, then set DND for SMS."""
    base = {"contact_id": contact_id, "purpose": "opt_out"}
    tags = list(dict.fromkeys(tag.strip().lower() for tag in consent_tags if tag.strip()))
    return [
        (
            followup_key(action="remove_tag", contact_id=contact_id, ref=ref),
            base | {"action": "remove_tag", "tags": tags},
        ),
        (
            followup_key(action="set_dnd", contact_id=contact_id, ref=ref),
            base | {"action": "set_dnd", "message": "Replied to opt out of texts"},
        ),
    ]


def perform_followup(
    *,
    client: GHLClient,
    payload: dict[str, Any],
    workflow_ids: dict[str, str],
    maybe_done: bool,
) -> dict[str, Any]:
    """Make one follow-up write in GHL and return what to record as its result.

    `maybe_done` says an earlier attempt may have made it: a note or task is looked for first
    (GHL has no idempotency keys). Raises GHLError as the client does; WorkflowUnknownError
    when the workflow named in the mapping does not exist.
    """
    action = payload["action"]
    contact_id = payload["contact_id"]
    if action == "tag":
        return {"tags": client.contacts.add_tags(contact_id, [payload["tag"]])}
    if action == "remove_tag":
        return {"tags": client.contacts.remove_tags(contact_id, list(payload["tags"]))}
    if action == "set_dnd":
        contact = client.contacts.set_sms_dnd(
            contact_id, active=True, message=payload.get("message", "")
        )
        return {"sms_dnd": contact.sms_dnd}
    if action == "note":
        if maybe_done:
            found = next(
                (n for n in client.contacts.notes(contact_id) if n.body == payload["body"]), None
            )
            if found is not None:
                return {"note_id": found.id, "found": True}
        return {"note_id": client.contacts.add_note(contact_id, payload["body"]).id}
    if action == "task":
        if maybe_done:
            done = next(
                (t for t in client.contacts.tasks(contact_id) if t.title == payload["title"]), None
            )
            if done is not None:
                return {"task_id": done.id, "found": True}
        due = datetime.fromisoformat(payload["due"])
        task = client.contacts.create_task(contact_id, title=payload["title"], due=due)
        return {"task_id": task.id}
    if action == "workflow":
        workflow_id = _workflow_id(client=client, name=payload["workflow"], cache=workflow_ids)
        client.contacts.add_to_workflow(contact_id, workflow_id)
        return {"workflow_id": workflow_id}
    raise ValueError(f"unknown follow-up action {action!r}")


def _workflow_id(*, client: GHLClient, name: str, cache: dict[str, str]) -> str:
    """The id of the workflow the mapping names (case-insensitive), cached for one run."""
    wanted = name.strip().lower()
    if not cache:
        cache.update({w.name.strip().lower(): w.id for w in client.workflows.list()})
    if wanted not in cache:
        raise WorkflowUnknownError(f"no workflow named {name!r} in this GHL location")
    return cache[wanted]
