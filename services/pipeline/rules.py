"""What the deal pipeline sends GHL, as pure functions of the record, the mapping and the ids.

No I/O here: names, bodies, stages and texts are decided from their inputs so the tests can
pin them with tables, and a re-run builds byte-identical notes (which is how a note already
in GHL is recognised).

    initial_stage_key(config, score=93)                        # "priority"
    forward_stage(current="contract", target="good", progression=[...])   # None: never back
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from services.config import DealConfig, TaskSpec
from services.ghl_map import GHLMap
from services.property import NOTES_MAX, PropertyRecord

NAME_SEPARATOR = " — "

# Activity -> the stage it proves the deal has reached. A completed task or a booked showing
# moves the deal there if that is forward; it never moves it back (see `forward_stage`).
STAGE_FOR_TASK = {
    "review_hot_deal": "priority",  # a person has reviewed the hot deal
    "contact_buyers": "contacted",  # matched buyers have been called
    "schedule_showing": "showing",  # the showing is arranged
}
STAGE_FOR_APPOINTMENT = "showing"


def initial_stage_key(config: DealConfig, *, score: int) -> str:
    """The stage a new deal starts in: by score, and a hot deal straight into "priority".

    The seed's hot-deal workflow is "priority stage movement"; creating the opportunity in
    that stage saves the PUT that would move it there a moment later.
    """
    key = config.stage_key_for(score=score)
    if key == "hot" and "priority" in config.pipeline.stages:
        return "priority"
    return key


def forward_stage(*, current: str | None, target: str, progression: Sequence[str]) -> str | None:
    """`target` if it is after `current` in the progression, else None (stay where it is).

    A deal in a stage the mapping does not know (`current` None: a broker's own stage) is
    left alone: we cannot tell whether moving it would be backwards.
    """
    if target not in progression or current is None or current not in progression:
        return None
    return target if progression.index(target) > progression.index(current) else None


def opportunity_name(record: PropertyRecord) -> str:
    return f"{record.mls_id}{NAME_SEPARATOR}{record.address}, {record.city}"


def is_named_for(name: str | None, mls_id: str) -> bool:
    """Whether an opportunity's name marks it as this property's (the address may change)."""
    return bool(name and name.startswith(f"{mls_id}{NAME_SEPARATOR}"))


def _field_text(value: object) -> str:
    # customFieldsInputStringSchema takes `field_value` as a string, numbers included.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def custom_field_values(
    record: PropertyRecord, *, config: DealConfig, ghl_map: GHLMap
) -> list[dict[str, str]]:
    """`customFields` items for every mapped opportunity field the record has a value for."""
    items = []
    for key, spec in config.opportunity_fields.items():
        value = getattr(record, spec.source, None) if spec.source else None
        field_id = ghl_map.opportunity_fields.get(key)
        if value is not None and value != "" and field_id:
            items.append({"id": field_id, "field_value": _field_text(value)})
    return items


def contact_body(record: PropertyRecord) -> dict[str, Any]:
    """The seller/listing contact's upsert body, never with `tags`.

    UpsertContactDto: "tags ... will overwrite all current tags", and the contact may already be
    in the CRM with tags of its own, so deal tags go through `add_tags`.
    """
    body: dict[str, Any] = {}
    if record.agent_email:
        body["email"] = record.agent_email
    if record.agent_phone:
        body["phone"] = record.agent_phone
    if record.agent_name:
        first, _, last = record.agent_name.partition(" ")
        body |= {"firstName": first, "lastName": last or None, "name": record.agent_name}
    return body


def property_contact_body(record: PropertyRecord, *, config: DealConfig) -> dict[str, Any]:
    """The upsert body of a listing's own contact ("per_property"), never with `tags`.

    Keyed by the MLS id through its email (GHL's upsert matches email first), so a repeated
    upsert after a lost answer finds the same contact without search. No phone: the agent's
    phone would make GHL's duplicate rules match (or refuse) the agent's own contact.
    """
    body: dict[str, Any] = {
        "email": config.property_email(record.mls_id),
        "firstName": f"MLS {record.mls_id}",
        "lastName": record.address,
        "name": f"MLS {record.mls_id} {record.address}",
        "address1": record.address,
        "city": record.city,
        "state": record.state,
        "postalCode": record.zip,
        "source": "DealFinder listing",
    }
    if record.agent_name or record.agent_email:
        body["companyName"] = f"Listing agent: {record.agent_name or record.agent_email}"
    return body


def agent_line(record: PropertyRecord) -> str:
    """The note's line that names a per-property deal's listing agent and how to reach them."""
    parts = [p for p in (record.agent_name, record.agent_email, record.agent_phone) if p]
    return f"Listing agent: {' · '.join(parts) or 'unknown'}"


def deal_tags(config: DealConfig, *, score: int) -> list[str]:
    quality = config.quality_tag(score=score)
    return [*config.tags.deal_contact, *([quality] if quality else [])]


def _money(value: int | None) -> str:
    return f"${value:,}" if value is not None else "n/a"


def note_marker(mls_id: str, version: str) -> str:
    """The first line of the analysis note: one note per property version carries it."""
    return f"DealFinder analysis — MLS {mls_id} (version {version})"


def note_body(
    record: PropertyRecord, *, version: str, stage_name: str, agent: str | None = None
) -> str:
    """The analysis note: deterministic, so a re-run recognises the note it made before."""
    lines = [
        note_marker(record.mls_id, version),
        f"{record.address}, {record.city}, {record.state} {record.zip}",
        *([agent] if agent else []),
        f"Deal score: {record.deal_score}/100 (stage: {stage_name})",
        f"List price: {_money(record.list_price)} · ARV: {_money(record.arv)} · "
        f"Repairs: {_money(record.repair_cost)} · Est. profit: {_money(record.est_profit)}",
    ]
    facts = [
        f"{record.beds} bd" if record.beds is not None else "",
        f"{record.baths:g} ba" if record.baths is not None else "",
        f"{record.sqft:,} sqft" if record.sqft is not None else "",
        (record.property_type or "").replace("_", " "),
        f"{record.days_on_market} days on market" if record.days_on_market is not None else "",
    ]
    if any(facts):
        lines.append(" · ".join(f for f in facts if f))
    if record.analysis_notes:
        lines += ["", record.analysis_notes]
    if record.notes_cut:
        lines.append(
            f"[analysis cut at {NOTES_MAX:,} characters; {record.notes_cut:,} more in the source]"
        )
    return "\n".join(lines)


def task_title(spec: TaskSpec, record: PropertyRecord) -> str:
    """A task's title names the property: a listing agent's contact may carry several deals."""
    return f"{spec.title}{NAME_SEPARATOR}{record.mls_id}"


def task_body(spec: TaskSpec, record: PropertyRecord, *, url: str) -> str:
    # GHL tasks have no priority field (CreateTaskParams), so it is written in the body.
    return (
        f"Priority: {spec.priority}. {record.address}, {record.city}, {record.state} — "
        f"score {record.deal_score}/100, list {_money(record.list_price)}. {url}"
    )


def parse_task_title(config: DealConfig, title: str) -> tuple[TaskSpec, str] | None:
    """The task spec and MLS id a DealFinder task title stands for, or None for other tasks."""
    for spec in config.tasks:
        prefix = f"{spec.title}{NAME_SEPARATOR}"
        if title.strip().casefold().startswith(prefix.casefold()):
            mls_id = title.strip()[len(prefix) :].strip()
            return (spec, mls_id) if mls_id else None
    return None


def broker_message(record: PropertyRecord, *, url: str) -> str:
    """The hot-deal text to a broker (staff, not marketing): short, with the link to the deal."""
    profit = f", est. profit {_money(record.est_profit)}" if record.est_profit is not None else ""
    return (
        f"HOT DEAL {record.deal_score}/100: {record.address}, {record.city} {record.state} — "
        f"list {_money(record.list_price)}{profit}. MLS {record.mls_id}. {url}"
    )
