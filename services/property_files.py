"""The files analysed properties arrive in: JSON (one object or a list), JSON Lines or CSV.

Each record becomes a validated `PropertyRecord`; a bad one becomes a `RecordError` with its
line and a reason, and the rest of the file is still read. Files are streamed, so a
10,000-row import never sits in memory as text.

    result = read_records(Path("mls_batch.csv"))
    for line, record in result.records: ...
    for error in result.errors: print(error.line, error.mls_id, error.reason)
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from services.property import PropertyRecord


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
