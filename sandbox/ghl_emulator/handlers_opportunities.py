"""Opportunities: create, upsert, read, update, status, search and pipelines."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sandbox.ghl_emulator import render
from sandbox.ghl_emulator.calls import ApiError, Call, Handler, Reply
from sandbox.ghl_emulator.handlers_common import apply_custom_fields, find_contact, find_opportunity
from sandbox.ghl_emulator.state import Opportunity, Pipeline

_STATUSES = ("open", "won", "lost", "abandoned")
SEARCH_LIMIT_MAX = 100  # "will allow maximum up to 100" (limit parameter, opportunities.json)


def _pipeline(call: Call, pipeline_id: str) -> Pipeline:
    found = call.state.pipelines.get(pipeline_id)
    if found is None or found.location_id != call.location_id:
        raise ApiError(400, f"Pipeline with id {pipeline_id} not found")
    return found


def _stage_id(pipeline: Pipeline, stage_id: str | None) -> str:
    if stage_id is None:
        return pipeline.stages[0].id
    if pipeline.stage(stage_id) is None:
        raise ApiError(400, f"Stage with id {stage_id} is not a stage of pipeline {pipeline.id}")
    return stage_id


def _status(value: str) -> str:
    # `all` is in the file's enum because search shares it; GHL refuses to store it.
    if value not in _STATUSES:
        raise ApiError(422, ["status must be one of the following values: " + ", ".join(_STATUSES)])
    return value


def _user(call: Call, user_id: str | None) -> str | None:
    if user_id and user_id not in call.state.users:
        raise ApiError(400, f"User with id {user_id} not found")
    return user_id or None


def _check_duplicate(call: Call, pipeline_id: str, contact_id: str) -> None:
    location = call.state.ensure_location(call.location_id)
    if location.allow_duplicate_opportunity:
        return
    for other in call.state.opportunities.values():
        if (
            other.pipeline_id == pipeline_id
            and other.contact_id == contact_id
            and other.status == "open"
        ):
            # GHL allows one OPEN opportunity per contact per pipeline unless the location's
            # "Allow Multiple Opportunities per Contact" (Settings > Objects > Opportunities;
            # `settings.allowDuplicateOpportunity`) is on; a won/lost/abandoned one does not
            # count. Its wording (GHL help centre; reproduced by users):
            raise ApiError(400, "Can not create duplicate opportunity for the contact.")


def _apply(call: Call, record: Opportunity, body: dict[str, Any]) -> None:
    """Write the fields of a create, update or upsert body onto `record`."""
    if "pipelineId" in body and body["pipelineId"] != record.pipeline_id:
        pipeline = _pipeline(call, body["pipelineId"])
        record.pipeline_id = pipeline.id
        record.stage_id = _stage_id(pipeline, body.get("pipelineStageId"))
        record.last_stage_change_at = call.now_ms
    elif body.get("pipelineStageId") and body["pipelineStageId"] != record.stage_id:
        record.stage_id = _stage_id(_pipeline(call, record.pipeline_id), body["pipelineStageId"])
        record.last_stage_change_at = call.now_ms
    if body.get("name"):
        record.name = body["name"]
    if "status" in body and body["status"] != record.status:
        record.status = _status(body["status"])
        record.last_status_change_at = call.now_ms
    if "monetaryValue" in body:
        value = body["monetaryValue"]
        if value is not None and not isinstance(value, int | float):
            raise ApiError(422, ["monetaryValue must be a number"])
        record.monetary_value = value
    if "assignedTo" in body:
        record.assigned_to = _user(call, body["assignedTo"])
    if "lostReasonId" in body:
        record.lost_reason_id = body["lostReasonId"] or None
    if body.get("customFields"):
        apply_custom_fields(call, record.custom_fields, body["customFields"], model="opportunity")
    record.updated_at = call.now_ms


def _new(call: Call, body: dict[str, Any]) -> Opportunity:
    pipeline = _pipeline(call, body["pipelineId"])
    contact = find_contact(call, body["contactId"], missing_status=400)
    _check_duplicate(call, pipeline.id, contact.id)
    now = call.now_ms
    record = Opportunity(
        id=call.state.new_id(),
        location_id=call.location_id,
        name=body["name"],
        pipeline_id=pipeline.id,
        stage_id=_stage_id(pipeline, body.get("pipelineStageId")),
        status=_status(body.get("status", "open")),
        contact_id=contact.id,
        created_at=now,
        updated_at=now,
        last_status_change_at=now,
        last_stage_change_at=now,
        source="api",
    )
    rest = {k: v for k, v in body.items() if k not in ("pipelineId", "status", "name")}
    _apply(call, record, rest)
    call.state.opportunities[record.id] = record
    return record


def create_opportunity(call: Call) -> Reply:
    record = _new(call, call.json())
    return Reply(201, {"opportunity": render.opportunity(call.state, record)})


def upsert_opportunity(call: Call) -> Reply:
    # UpsertOpportunityDto has no contactId, yet the live API matches on pipelineId + contactId
    # and needs one to create; the emulator accepts it as an extra property, as GHL does.
    body = call.json()
    existing = None
    if body.get("id"):
        existing = find_opportunity(call, body["id"])
    elif body.get("contactId"):
        pipeline = _pipeline(call, body["pipelineId"])
        contact = find_contact(call, body["contactId"], missing_status=400)
        existing = next(
            (
                o
                for o in call.state.opportunities.values()
                if o.pipeline_id == pipeline.id and o.contact_id == contact.id
            ),
            None,
        )
    else:
        raise ApiError(422, ["contactId should not be empty"])
    if existing is not None:
        _apply(call, existing, body)
        return Reply(200, {"opportunity": render.opportunity(call.state, existing), "new": False})
    if not body.get("name"):
        raise ApiError(422, ["name should not be empty"])
    record = _new(call, body)
    return Reply(200, {"opportunity": render.opportunity(call.state, record), "new": True})


def get_opportunity(call: Call) -> Reply:
    record = find_opportunity(call, call.params["id"])
    return Reply(200, {"opportunity": render.opportunity(call.state, record)})


def update_opportunity(call: Call) -> Reply:
    record = find_opportunity(call, call.params["id"])
    _apply(call, record, call.json())
    return Reply(200, {"opportunity": render.opportunity(call.state, record)})


def update_status(call: Call) -> Reply:
    record = find_opportunity(call, call.params["id"])
    _apply(call, record, call.json())
    return Reply(200, {"succeded": True})


def _search_hit(call: Call, record: Opportunity) -> bool:
    q = call.query
    wanted = {
        "pipeline_id": record.pipeline_id,
        "pipeline_stage_id": record.stage_id,
        "contact_id": record.contact_id,
        "assigned_to": record.assigned_to,
        "id": record.id,
    }
    if any(q.get(name) and q.get(name) != value for name, value in wanted.items()):
        return False
    if q.get("status") and q.get("status") != "all" and q.get("status") != record.status:
        return False
    text = (q.get("q") or "").strip().lower()
    if text:
        contact = render.opportunity_contact(call.state, record.contact_id) or {}
        fields = [record.name, contact.get("name"), contact.get("email"), contact.get("phone")]
        return any(text in (f or "").lower() for f in fields)
    return True


def _after(key: tuple[int, str], cursor: tuple[int, str], *, descending: bool) -> bool:
    return key < cursor if descending else key > cursor


def search_opportunities(call: Call) -> Reply:
    q = call.query
    limit = int(float(q.get("limit", 20)))
    if limit > SEARCH_LIMIT_MAX or limit < 1:
        raise ApiError(422, [f"limit must be between 1 and {SEARCH_LIMIT_MAX}"])
    descending = q.get("order", "added_desc") != "added_asc"
    found = [
        o
        for o in call.state.opportunities.values()
        # Index-backed, like contacts: a new opportunity shows only after GHL's search lag.
        if o.location_id == call.location_id and call.indexed(o.created_at) and _search_hit(call, o)
    ]
    found.sort(key=lambda o: (o.created_at, o.id), reverse=descending)
    page = int(float(q.get("page", 1)))
    if page < 1:
        raise ApiError(422, ["page must not be less than 1"])
    if q.get("startAfterId") and q.get("startAfter"):
        after = (int(float(q["startAfter"])), q["startAfterId"])
        rest = [o for o in found if _after((o.created_at, o.id), after, descending=descending)]
        shown, more = rest[:limit], len(rest) > limit
    else:
        shown = found[(page - 1) * limit : page * limit]
        more = page * limit < len(found)
    meta: dict[str, Any] = {"total": len(found), "currentPage": page}
    if page > 1:
        meta["prevPage"] = page - 1
    if shown:
        meta["startAfter"] = shown[-1].created_at
        meta["startAfterId"] = shown[-1].id
    if more:
        meta["nextPage"] = page + 1
        params = {k: v for k, v in q.items() if k not in ("page", "startAfter", "startAfterId")}
        params |= {"startAfter": shown[-1].created_at, "startAfterId": shown[-1].id}
        meta["nextPageUrl"] = f"{call.options.get('base_url', '')}{call.path}?{urlencode(params)}"
    opportunities = [render.opportunity(call.state, o) for o in shown]
    return Reply(200, {"opportunities": opportunities, "meta": meta})


def list_pipelines(call: Call) -> Reply:
    pipelines = [p for p in call.state.pipelines.values() if p.location_id == call.location_id]
    return Reply(200, {"pipelines": [render.pipeline(p) for p in pipelines]})


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/opportunities/"): create_opportunity,
    ("POST", "/opportunities/upsert"): upsert_opportunity,
    ("GET", "/opportunities/{id}"): get_opportunity,
    ("PUT", "/opportunities/{id}"): update_opportunity,
    ("PUT", "/opportunities/{id}/status"): update_status,
    ("GET", "/opportunities/search"): search_opportunities,
    ("GET", "/opportunities/pipelines"): list_pipelines,
}
