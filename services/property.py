"""Analysed properties as DealFinder receives them, and the files they arrive in.

The property-analysis and MLS-import side hands over JSON (one object or a list), JSON Lines
or CSV. Each record becomes a validated `PropertyRecord`; a bad one becomes a `RecordError`
with its line and a reason, and the rest of the file is still read. Files are streamed, so a
10,000-row import never sits in memory as text.

    result = read_records(Path("mls_batch.csv"))
    for line, record in result.records: ...
    for error in result.errors: print(error.line, error.mls_id, error.reason)
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TextIO

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from matching.models import PropertyFacts
from matching.normalise import STATE_CODES, normalise_property_type
from matching.notify import normalize_phone

NOTES_MAX = 10_000  # GHL notes take more, but a person reads them; the source keeps the rest
_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<[^>]{0,500}>", re.IGNORECASE | re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_MLS_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_ZIP = re.compile(r"^(\d{5})(?:[-\s]?(\d{4}))?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MONEY_NOISE = re.compile(r"[$,\s]|usd", re.IGNORECASE)


def clean_text(value: object, *, multiline: bool = False) -> str | None:
    """Text fit for GHL and Slack: NFC, no HTML tags or control characters, trimmed.

    MLS remarks often carry markup (`<b>`, `&amp;`); it is dropped rather than escaped so the
    note reads as plain text wherever it is shown.
    """
    if value is None:
        return None
    text = unicodedata.normalize("NFC", html.unescape(_TAG.sub(" ", str(value))))
    text = _CONTROL.sub(" ", text)
    if multiline:
        lines = (" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n"))
        text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    else:
        text = " ".join(text.split())
    return text.strip() or None


def _number(value: object) -> float | None:
    """A number from JSON or CSV text: "$245,000", "245000.00", 245000; "" means missing."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("expected a number, got true/false")
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(_MONEY_NOISE.sub("", str(value)))
    except ValueError:
        raise ValueError(f"not a number: {str(value)[:40]!r}") from None


def _rounded(value: object) -> int | None:
    number = _number(value)
    return None if number is None else round(number)


def _whole(value: object) -> int | None:
    number = _number(value)
    if number is not None and not number.is_integer():
        raise ValueError(f"expected a whole number, got {number:g}")
    return None if number is None else int(number)


def _mls_id(value: object) -> str:
    text = str(value).strip() if value is not None else ""
    if not text:
        raise ValueError("mls_id is missing")
    if not _MLS_ID.match(text):
        raise ValueError(f"{text[:70]!r} is not an MLS id (letters, digits, . _ -; <= 64)")
    return text


def _state(value: object) -> str:
    code = (clean_text(value) or "").upper()
    if code.lower() not in STATE_CODES:
        raise ValueError(f"{code[:20]!r} is not a two-letter US state code")
    return code


def _zip(value: object) -> str:
    text = f"{value:05d}" if isinstance(value, int) else str(value or "").strip()
    found = _ZIP.match(text)
    if not found:
        raise ValueError(f"{text[:20]!r} is not a ZIP code (12345 or 12345-6789)")
    return found.group(1) + (f"-{found.group(2)}" if found.group(2) else "")


def _phone(value: object) -> str | None:
    if value is None or not str(value).strip():
        return None
    e164 = normalize_phone(str(value))  # E.164, US numbers by default
    if e164 is None:
        raise ValueError(f"{str(value)[:30]!r} is not a valid phone number")
    return e164


def _email(value: object) -> str | None:
    text = str(value).strip().lower() if value is not None else ""
    if text and not _EMAIL.match(text):
        raise ValueError(f"{text[:60]!r} is not an email address")
    return text or None


def _property_type(value: object) -> str | None:
    text = clean_text(value)
    return (normalise_property_type(text) or text) if text else None


def _required(convert: Callable[[object], Any]) -> Callable[[object], Any]:
    def check(value: object) -> Any:
        converted = convert(value)
        if converted is None:
            raise ValueError("is missing or empty")
        return converted

    return check


Text = Annotated[str | None, BeforeValidator(clean_text)]
Money = Annotated[int | None, BeforeValidator(_rounded)]
Whole = Annotated[int | None, BeforeValidator(_whole)]
RequiredText = Annotated[str, BeforeValidator(_required(clean_text))]
RequiredMoney = Annotated[int, BeforeValidator(_required(_rounded))]
RequiredWhole = Annotated[int, BeforeValidator(_required(_whole))]


def _also(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class PropertyRecord(BaseModel):
    """One analysed listing. `mls_id` is the idempotency key of everything made from it."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    mls_id: Annotated[str, BeforeValidator(_mls_id)]
    address: RequiredText = Field(max_length=200)
    city: RequiredText = Field(max_length=100)
    state: Annotated[str, BeforeValidator(_state)]
    zip: Annotated[str, BeforeValidator(_zip)] = Field(
        validation_alias=_also("zip", "zip_code", "postal_code")
    )
    list_price: RequiredMoney = Field(gt=0, validation_alias=_also("list_price", "price"))
    arv: Money = Field(None, gt=0)
    est_profit: Money = None
    repair_cost: Money = Field(None, ge=0)
    beds: Whole = Field(None, ge=0, le=100)
    baths: Annotated[float | None, BeforeValidator(_number)] = Field(None, ge=0, le=100)
    sqft: Money = Field(None, gt=0, le=1_000_000)
    property_type: Annotated[str | None, BeforeValidator(_property_type)] = None
    deal_score: RequiredWhole = Field(ge=0, le=100, validation_alias=_also("deal_score", "score"))
    days_on_market: Money = Field(None, ge=0)
    agent_name: Text = Field(None, validation_alias=_also("agent_name", "seller_name"))
    agent_phone: Annotated[str | None, BeforeValidator(_phone)] = Field(
        None, validation_alias=_also("agent_phone", "seller_phone")
    )
    agent_email: Annotated[str | None, BeforeValidator(_email)] = Field(
        None, validation_alias=_also("agent_email", "seller_email")
    )
    analysis_notes: str = ""
    notes_cut: int = 0  # characters dropped from analysis_notes beyond NOTES_MAX

    @model_validator(mode="after")
    def _reachable(self) -> PropertyRecord:
        if not (self.agent_phone or self.agent_email):
            # The GHL contact an opportunity hangs on is found by email or phone.
            raise ValueError("agent_phone or agent_email is needed for the GHL contact")
        return self

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> PropertyRecord:
        """Validate one raw record, capping `analysis_notes` at NOTES_MAX characters."""
        data = {k: (None if v == "" else v) for k, v in raw.items() if k != "notes_cut"}
        notes = clean_text(data.get("analysis_notes"), multiline=True) or ""
        data["analysis_notes"] = notes[:NOTES_MAX]
        data["notes_cut"] = max(0, len(notes) - NOTES_MAX)
        return cls.model_validate(data)

    @property
    def zip5(self) -> str:
        return self.zip[:5]

    def version(self) -> str:
        """A hash of every field: equal hashes mean nothing changed since the last import."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def facts(self) -> PropertyFacts:
        """The listing as buyer matching sees it."""
        return PropertyFacts(
            mls_id=self.mls_id, address=self.address, city=self.city, state=self.state,
            zip=self.zip5, price=self.list_price, property_type=self.property_type,
            beds=self.beds,
        )  # fmt: skip


@dataclass(frozen=True)
class RecordError:
    """A record that could not be used: where it is, whose it is if known, and why."""

    line: int
    mls_id: str | None
    reason: str


@dataclass
class ReadResult:
    records: list[tuple[int, PropertyRecord]] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)


class ReadError(Exception):
    """The file as a whole cannot be read (missing, unreadable, unknown type)."""


Item = tuple[int, PropertyRecord | RecordError]


def _explain(exc: ValidationError | ValueError) -> str:
    if not isinstance(exc, ValidationError):
        return str(exc)
    parts = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e["loc"])
        message = e["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def _validate(line: int, raw: object, seen: dict[str, int]) -> PropertyRecord | RecordError:
    if not isinstance(raw, dict):
        return RecordError(line, None, f"expected an object, got {type(raw).__name__}")
    mls = str(raw.get("mls_id") or "").strip() or None
    try:
        record = PropertyRecord.parse(raw)
    except (ValidationError, ValueError) as exc:
        return RecordError(line, mls, _explain(exc))
    if record.mls_id in seen:
        return RecordError(line, mls, f"duplicate mls_id; first at line {seen[record.mls_id]}")
    seen[record.mls_id] = line
    return record


class _JsonStream:
    """The values of a JSON list (or one JSON value) with their starting lines, read in chunks."""

    def __init__(self, handle: TextIO, chunk: int = 1 << 16) -> None:
        self.handle, self.chunk = handle, chunk
        self.decoder = json.JSONDecoder()
        self.buf, self.pos, self.line, self.eof = "", 0, 1, False

    def _more(self) -> None:
        text = self.handle.read(self.chunk)
        self.buf, self.pos, self.eof = self.buf[self.pos :] + text, 0, not text

    def _skip_ws(self) -> str | None:
        """The next significant character (not consumed), or None at the end of the input."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.line += self.buf[self.pos] == "\n"
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if self.eof:
                return None
            self._more()

    def _value(self) -> Any:
        while True:
            try:
                found, end = self.decoder.raw_decode(self.buf, self.pos)
                if end < len(self.buf) or self.eof:  # a number may go on in the next chunk
                    break
            except json.JSONDecodeError as exc:
                if self.eof:
                    raise ValueError(f"not valid JSON at line {self.line}: {exc.msg}") from None
            self._more()
        self.line += self.buf.count("\n", self.pos, end)
        self.pos = end
        return found

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        first = self._skip_ws()
        if first is None:
            return
        if first != "[":
            yield self.line, self._value()
            return
        self.pos += 1
        while (char := self._skip_ws()) not in (None, "]"):
            if char == ",":
                self.pos += 1
                continue
            start = self.line
            yield start, self._value()


def _rows(path: Path, handle: TextIO) -> Iterator[tuple[int, Any]]:
    kind = path.suffix.lower()
    if kind == ".json":
        yield from _JsonStream(handle)
    elif kind in (".jsonl", ".ndjson"):
        for number, text in enumerate(handle, start=1):
            if text.strip():
                try:
                    yield number, json.loads(text)
                except json.JSONDecodeError as exc:
                    yield number, RecordError(number, None, f"not valid JSON: {exc.msg}")
    else:
        # Python's csv refuses fields over 128 kB and would lose the rest of the file; the
        # record model caps long notes itself, with a reason.
        csv.field_size_limit(max(csv.field_size_limit(), 16 * 1024 * 1024))
        reader = csv.reader(handle)
        header = [re.sub(r"[\s-]+", "_", h.strip().lower()) for h in next(reader, [])]
        start = reader.line_num + 1
        for row in reader:
            if any(cell.strip() for cell in row):
                if len(row) > len(header):
                    reason = f"{len(row)} columns but the header has {len(header)}"
                    yield start, RecordError(start, None, reason)
                else:
                    yield start, dict(zip(header, row, strict=False))
            start = reader.line_num + 1


def iter_records(path: Path) -> Iterator[Item]:
    """Each record of the file, validated, in order: (line, PropertyRecord | RecordError).

    A syntax error that makes the rest unreadable ends the file with one last RecordError.
    """
    kind = path.suffix.lower()
    if kind not in (".json", ".jsonl", ".ndjson", ".csv"):
        raise ReadError(f"{path.name}: unknown file type {kind or '(none)'!r}; use .json, "
                        ".jsonl or .csv")  # fmt: skip
    try:
        handle = path.open(encoding="utf-8-sig", newline="" if kind == ".csv" else None)
    except OSError as exc:
        raise ReadError(f"cannot read {path}: {exc.strerror or exc}") from None
    seen: dict[str, int] = {}
    line = 0
    with handle:
        try:
            for line, raw in _rows(path, handle):
                yield line, raw if isinstance(raw, RecordError) else _validate(line, raw, seen)
        except (ValueError, csv.Error) as exc:  # UnicodeDecodeError is a ValueError
            reason = f"{exc}; the rest of the file was not read"
            yield line + 1, RecordError(line + 1, None, reason)


def read_records(path: Path | str) -> ReadResult:
    """Every record of a file, split into usable records and reported errors."""
    result = ReadResult()
    for line, item in iter_records(Path(path)):
        if isinstance(item, RecordError):
            result.errors.append(item)
        else:
            result.records.append((line, item))
    return result


def stored_record(mls_id: str, data: dict | None) -> dict:
    """The analysed record inside a stored `Property.data`, with its MLS id.

    The pipeline keeps the record under "record" beside its GHL progress; rows written as a
    flat record (older stores, tests) are read as they are.
    """
    data = data or {}
    record = data.get("record") if isinstance(data.get("record"), dict) else data
    return {**record, "mls_id": mls_id}
