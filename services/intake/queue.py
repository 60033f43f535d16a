"""The intake queue: analysed properties handed over by the analysis module, kept in the store
until the deal pipeline has worked them.

This is the seed's `on_property_analyzed` integration point. A submission is validated as
`dealfinder import` validates a file's records (`PropertyRecord.parse`), then recorded in the
store's outbox (kind ``intake``) before anyone is told "accepted": a crash after that loses
nothing, since a worker (`services.intake.worker`, run by `dealfinder serve`) claims the item
under a lease and hands it to the same `DealPipeline.process` the import uses.

    statuses = submit_properties([record], engine=engine, location_id="loc_123")
    statuses[0].queued            # True: the running bot turns it into a worked GHL deal

Idempotent by `mls_id`: the queue key is the location, the MLS id and the record's version
(`PropertyRecord.version()`), so the same record sent twice is one item; a changed record is a
new item, which the pipeline turns into an update of the same deal, never a second deal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.property import PropertyRecord
from store import outbox
from store.db import session_scope
from store.models import OutboxItem, OutboxStatus
from store.types import utcnow

KIND = "intake"
MAX_RECORDS = 500  # per submission: a day of a metro's analysed listings, one request
_FINISHED = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.CANCELLED, OutboxStatus.EXCLUDED)


@dataclass(frozen=True)
class FieldError:
    """One refusal: where (`loc`, e.g. ("body", 0, "zip")), why (`msg`), and its kind."""

    loc: tuple[str | int, ...]
    msg: str
    type: str

    def as_dict(self) -> dict[str, Any]:
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


class IntakeRejected(ValueError):
    """The submission was refused as a whole; nothing was queued. `errors` say what and where."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{'.'.join(map(str, e.loc))}: {e.msg}" for e in errors[:5]))


@dataclass(frozen=True)
class Submission:
    """What became of one submitted record."""

    mls_id: str
    version: str
    queued: bool  # False: the same record was already waiting or already worked
    state: str  # queued | processing | done | failed
    warnings: list[str] = field(default_factory=list)


def location_prefix(location_id: str) -> str:
    """The start of every intake key of one location."""
    return f"{KIND}:{location_id}:"


def queue_prefix(location_id: str, mls_id: str) -> str:
    return f"{location_prefix(location_id)}{mls_id}:"


def validate_records(raw: object, *, max_records: int = MAX_RECORDS) -> list[PropertyRecord]:
    """Records from one JSON document (an object or a list of objects); IntakeRejected if any
    is refused, with a per-field message each (the import reader's rules: `PropertyRecord`)."""
    single = isinstance(raw, dict)
    items = [raw] if single else raw
    if not isinstance(items, list):
        raise IntakeRejected([FieldError(("body",), "expected a property object or a list of "
                                         "them", "type_error")])  # fmt: skip
    if not items:
        raise IntakeRejected([FieldError(("body",), "the list is empty", "too_short")])
    if len(items) > max_records:
        raise IntakeRejected([FieldError(
            ("body",), f"{len(items)} records; at most {max_records} per request", "too_long"
        )])  # fmt: skip
    records: list[PropertyRecord] = []
    errors: list[FieldError] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        where: tuple[str | int, ...] = ("body",) if single else ("body", index)
        if not isinstance(item, dict):
            errors.append(FieldError(where, "expected a property object", "type_error"))
            continue
        try:
            record = PropertyRecord.parse(item)
        except ValidationError as exc:
            errors += [_field_error(where, err) for err in exc.errors()]
            continue
        if record.mls_id in seen:
            again = f"{record.mls_id} is also record {seen[record.mls_id]} of this request"
            errors.append(FieldError((*where, "mls_id"), again, "duplicate"))
            continue
        seen[record.mls_id] = index
        records.append(record)
    if errors:
        raise IntakeRejected(errors)
    return records


def _field_error(where: tuple[str | int, ...], err: Any) -> FieldError:
    # A model-level check ("agent_phone or agent_email") has an empty loc: it is the record's.
    loc = tuple(str(part) if not isinstance(part, int) else part for part in err["loc"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    return FieldError((*where, *loc), msg, str(err["type"]))


def submit_properties(
    records: list[dict[str, Any]] | list[PropertyRecord],
    *,
    engine: Engine,
    location_id: str,
    source: str = "python",
    now: datetime | None = None,
) -> list[Submission]:
    """Queue analysed properties for the deal pipeline, all or none; one status per record.

    Raw dicts are validated as the import validates a file's rows (IntakeRejected, nothing
    queued, when any is refused). `source` (e.g. the API token's name) is kept with the item.
    """
    now = now or utcnow()
    if all(isinstance(r, PropertyRecord) for r in records):
        parsed: list[PropertyRecord] = list(records)  # type: ignore[arg-type]
    else:
        parsed = validate_records(list(records))
    statuses = []
    with session_scope(engine) as session:
        for record in parsed:
            statuses.append(_enqueue(session, record, location_id, source=source, now=now))
    return statuses


def _enqueue(
    session: Session, record: PropertyRecord, location_id: str, *, source: str, now: datetime
) -> Submission:
    version = record.version()
    key = queue_prefix(location_id, record.mls_id) + version
    payload = {
        "record": record.model_dump(mode="json", exclude={"notes_cut"}),
        "location_id": location_id,
        "source": source,
        "received_at": now.isoformat(),
    }
    item, created = outbox.enqueue(
        session=session, kind=KIND, dedupe_key=key, payload=payload, now=now
    )
    if (
        not created
        and item.status in _FINISHED
        and latest_version(session, location_id, record.mls_id) not in (None, version)
    ):
        # The same record came back after a different one was worked (A, B, A): the deal must
        # show A again, so it is queued anew under a key of its own.
        item, created = outbox.enqueue(
            session=session, kind=KIND, dedupe_key=f"{key}:{now.timestamp():.6f}",
            payload=payload, now=now,
        )  # fmt: skip
    warnings = (
        [f"analysis_notes cut by {record.notes_cut:,} characters"] if record.notes_cut else []
    )
    return Submission(record.mls_id, version, created, item_state(item), warnings)


def latest_version(session: Session, location_id: str, mls_id: str) -> str | None:
    """The record version of the newest intake item for a property (None: never submitted)."""
    item = latest_item(session, location_id, mls_id, finished=True)
    return item.dedupe_key.removeprefix(queue_prefix(location_id, mls_id))[:16] if item else None


def latest_item(
    session: Session, location_id: str, mls_id: str, *, finished: bool = False
) -> OutboxItem | None:
    """The newest intake item for a property (only finished ones with `finished`)."""
    stmt = select(OutboxItem).where(
        OutboxItem.kind == KIND,
        col(OutboxItem.dedupe_key).startswith(queue_prefix(location_id, mls_id), autoescape=True),
    )
    if finished:
        stmt = stmt.where(col(OutboxItem.status).in_(_FINISHED))
    return session.exec(stmt.order_by(col(OutboxItem.id).desc()).limit(1)).first()


def item_state(item: OutboxItem) -> str:
    """queued | processing | done | failed, as the API reports an intake item."""
    if item.status == OutboxStatus.IN_FLIGHT:
        return "processing"
    if item.status == OutboxStatus.SENT:
        return "done"
    if item.status in _FINISHED:
        return "failed"
    return "queued"
