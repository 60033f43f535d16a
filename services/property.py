"""An analysed property as DealFinder receives it: `PropertyRecord`, validated and cleaned.

Every text is made fit for GHL and Slack (`clean_text`), numbers and money are read the way
people write them, and each refusal names the field and why. The files records arrive in are
read by `services.property_files`.

    record = PropertyRecord.parse({"mls_id": "TPA-1", "address": "12 Oak St", ...})
    record.version()                # what changed since the last run, as a short hash
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
import unicodedata
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
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


# No listing figure comes near this; past it a value is a broken export, and GHL's numbers,
# SQL integers and JSON readers elsewhere would overflow on it.
NUMBER_LIMIT = 1e12


def _number(value: object) -> float | None:
    """A number from JSON or CSV text: "$245,000", "245000.00", 245000; "" means missing.

    NaN, infinities ("1e999", JSON's Infinity) and magnitudes past NUMBER_LIMIT are refused
    here, as a reason on the record, rather than failing later as an OverflowError.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("expected a number, got true/false")
    try:
        number = (
            float(value)
            if isinstance(value, int | float)
            else float(_MONEY_NOISE.sub("", str(value)))
        )
    except (ValueError, OverflowError):
        raise ValueError(f"not a number: {_brief(value)}") from None
    if not math.isfinite(number):  # JSON's 1e400 reads as infinity; "nan" as NaN
        raise ValueError(f"not a finite number: {_brief(value)}")
    if abs(number) > NUMBER_LIMIT:
        raise ValueError(f"not a usable number: {_brief(value)}")
    return number


def _brief(value: object) -> str:
    """The start of a bad value for a message (str() of a 5,000-digit int itself fails)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return "a number far too large" if abs(value) > NUMBER_LIMIT else str(value)
    return repr(str(value)[:40])


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


def stored_record(mls_id: str, data: dict[str, Any] | None) -> dict[str, Any]:
    """The analysed record inside a stored `Property.data`, with its MLS id.

    The pipeline keeps the record under "record" beside its GHL progress; rows written as a
    flat record (older stores, tests) are read as they are.
    """
    data = data or {}
    nested = data.get("record")
    record = nested if isinstance(nested, dict) else data
    return {**record, "mls_id": mls_id}
