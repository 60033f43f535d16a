"""`POST /contacts/search`: GHL's advanced contact search, the subset DealFinder uses.

Body (GHL's search guide): `locationId`, `pageLimit` (required), `page` or `searchAfter`
(never both), `filters` (`{field, operator, value}` or `{group: "AND"|"OR", filters}`),
`sort` (`[{field, direction}]`) and `query`. Answer: `{contacts, total}`, each contact carrying
`searchAfter` = [sort value, id] to continue from it. Search is index-backed and lags writes:
a contact is found only `search_lag_seconds` after it was created (EmulatorConfig).

Supported operators: eq, not_eq, contains, not_contains, exists, not_exists, range. A list value
for `tags` means "any of these". Anything else is a 422 naming what the emulator lacks, so a
client never silently gets unfiltered results.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.ghl_emulator import render
from sandbox.ghl_emulator.calls import ApiError, Call, Reply, parse_time_ms
from sandbox.ghl_emulator.handlers_common import normalise_phone
from sandbox.ghl_emulator.search_cache import Hits, cached_hits, signature
from sandbox.ghl_emulator.state import Contact

# GHL's page-based search reaches 10,000 records at most; deeper needs searchAfter.
MAX_PAGED_RECORDS = 10_000
DEFAULT_PAGE_LIMIT_MAX = 500  # GHL's search guide

_DATE_FIELDS = {"dateAdded": "date_added", "dateUpdated": "date_updated"}
_TEXT_FIELDS: dict[str, Callable[[Contact], Any]] = {
    "id": lambda c: c.id,
    "email": lambda c: (c.email or "").lower() or None,
    "phone": lambda c: normalise_phone(c.phone),
    "firstNameLowerCase": lambda c: (c.first_name or "").lower() or None,
    "lastNameLowerCase": lambda c: (c.last_name or "").lower() or None,
    "fullNameLowerCase": lambda c: (render.full_name(c) or "").lower() or None,
    "timezone": lambda c: c.timezone or None,
    "assignedTo": lambda c: c.assigned_to,
    "dnd": lambda c: c.dnd,
    "city": lambda c: c.extra.get("city"),
    "state": lambda c: c.extra.get("state"),
    "postalCode": lambda c: c.extra.get("postalCode"),
    "source": lambda c: c.extra.get("source"),
}


def _bad(text: str) -> ApiError:
    return ApiError(422, [text])


def _value_of(contact: Contact, name: str) -> Any:
    if name in _DATE_FIELDS:
        return getattr(contact, _DATE_FIELDS[name])
    if name == "tags":
        return list(contact.tags)
    if name.startswith("customFields."):
        return contact.custom_fields.get(name.split(".", 1)[1])
    return _TEXT_FIELDS[name](contact)


def _comparable(name: str, value: Any) -> Any:
    if name in _DATE_FIELDS:
        moment = parse_time_ms(value)
        if moment is None:
            raise _bad(f"filters: {name} needs an ISO date or epoch milliseconds, got {value!r}")
        return moment
    if name == "email" and isinstance(value, str):
        return value.lower()
    if name == "phone" and isinstance(value, str):
        return normalise_phone(value)
    return value


def _in_range(actual: Any, bounds: dict[str, Any], name: str) -> bool:
    if actual is None or not bounds:
        return False
    checks = {
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    for key, bound in bounds.items():
        if key not in checks:
            raise _bad(f"filters: range accepts gt, gte, lt, lte, not {key!r}")
        limit = _comparable(name, bound)
        try:
            if not checks[key](float(actual), float(limit)):
                return False
        except (TypeError, ValueError):
            return False
    return True


_OPERATORS = ("eq", "not_eq", "contains", "not_contains", "exists", "not_exists", "range")


def _check_filters(items: list[Any]) -> None:
    """Refuse unsupported filters up front, whether or not any contact would reach them."""
    for item in items:
        if not isinstance(item, dict):
            raise _bad("filters: every filter must be an object")
        if "group" in item:
            if item["group"] not in ("AND", "OR"):
                raise _bad(f"filters: group must be AND or OR, not {item['group']!r}")
            _check_filters(item.get("filters") or [])
            continue
        name, operator = item.get("field"), item.get("operator")
        if not isinstance(name, str) or not isinstance(operator, str):
            raise _bad("filters: every filter needs a field and an operator")
        if operator not in _OPERATORS:
            raise _bad(f"filters: operator {operator!r} is not supported by the emulator")
        known = name in _DATE_FIELDS or name in _TEXT_FIELDS or name == "tags"
        if not (known or name.startswith("customFields.")):
            raise _bad(f"filters: field {name!r} is not supported by the emulator")
        if operator == "range" and not isinstance(item.get("value"), dict):
            raise _bad('filters: range needs an object value like {"gte": ...}')


def _matches(contact: Contact, item: dict[str, Any]) -> bool:
    if "group" in item:
        results = [_matches(contact, inner) for inner in item.get("filters") or []]
        return any(results) if item["group"] == "OR" else all(results)
    name, operator, wanted = item["field"], item["operator"], item.get("value")
    actual = _value_of(contact, name)
    if operator == "exists":
        return actual not in (None, "", [])
    if operator == "not_exists":
        return actual in (None, "", [])
    if operator == "range":
        return _in_range(actual, wanted, name)
    hit = _compare(actual, _comparable(name, wanted), contains=operator.endswith("contains"))
    return hit if not operator.startswith("not_") else not hit


def _compare(actual: Any, wanted: Any, *, contains: bool) -> bool:
    if isinstance(actual, list):  # tags
        options = wanted if isinstance(wanted, list) else [wanted]
        options = [str(o).strip().lower() for o in options]
        return any(o in actual for o in options)
    if actual is None:
        return False
    if contains:
        return str(wanted).lower() in str(actual).lower()
    return actual == wanted or str(actual) == str(wanted)


def _matches_query(contact: Contact, query: str) -> bool:
    text = query.strip().lower()
    haystack = [render.full_name(contact), contact.email, contact.phone]
    return any(text in (h or "").lower() for h in haystack)


def _sort_spec(body: dict[str, Any]) -> tuple[str, bool]:
    sort = body.get("sort") or [{"field": "dateAdded", "direction": "desc"}]
    first = sort[0]
    if not isinstance(first, dict):
        raise _bad("sort: every entry must be an object {field, direction}")
    name = first.get("field")
    if name not in _DATE_FIELDS:
        raise _bad(
            f"sort: field {name!r} is not supported by the emulator (dateAdded, dateUpdated)"
        )
    direction = first.get("direction", "desc")
    if direction not in ("asc", "desc"):
        raise _bad("sort: direction must be asc or desc")
    return name, direction == "desc"


def _page(
    call: Call,
    body: dict[str, Any],
    found: list[Contact] | Hits,
    *,
    key: Callable,
    descending: bool,
) -> list[Contact]:
    """The slice of the sorted `found` that `page` or `searchAfter` asks for."""
    limit = int(body["pageLimit"])
    cap = call.options.get("search_page_limit_max", DEFAULT_PAGE_LIMIT_MAX)
    if limit > cap:
        raise _bad(f"pageLimit must not be greater than {cap}")
    cursor = body.get("searchAfter")
    after: tuple[int, str] | None = None
    if cursor is not None:
        if "page" in body:
            raise _bad("page must not be sent together with searchAfter")
        moment = parse_time_ms(cursor[0]) if isinstance(cursor, list) and cursor else None
        if moment is None or len(cursor) != 2:
            raise _bad("searchAfter must be the [sortValue, id] pair of the last contact")
        after = (moment, str(cursor[1]))
    page = int(body.get("page", 1))
    if after is None and page * limit > MAX_PAGED_RECORDS:
        raise _bad(f"page * pageLimit must not exceed {MAX_PAGED_RECORDS}; use searchAfter")
    if isinstance(found, Hits):
        return found.page(limit=limit, descending=descending, after=after, page=page)
    if after is not None:
        rest = [c for c in found if (key(c) < after if descending else key(c) > after)]
        return rest[:limit]
    return found[(page - 1) * limit : page * limit]


def _visible(call: Call, filters: list[Any], query: str | None) -> tuple[list[Contact], bool]:
    """Contacts of the location that search finds now, and whether none is still unindexed."""
    found, settled = [], True
    for contact in call.state.contacts.values():
        if contact.location_id != call.location_id:
            continue
        if not call.indexed(contact.date_added):
            settled = False  # too new for GHL's search index
            continue
        if all(_matches(contact, item) for item in filters) and (
            not query or _matches_query(contact, query)
        ):
            found.append(contact)
    return found, settled


def search_contacts(call: Call) -> Reply:
    body = call.json()
    filters = body.get("filters") or []
    query = body.get("query")
    _check_filters(filters)
    sort_field, descending = _sort_spec(body)

    def key(contact: Contact) -> tuple[int, str]:
        return (_value_of(contact, sort_field), contact.id)

    if call.options.get("search_cache"):
        hits = cached_hits(
            call.state.search_hits,
            generation=call.state.generation,
            sig=signature(call.location_id, body, sort_field),
            build=lambda: _visible(call, filters, query),
            key=key,
        )
        page = _page(call, body, hits, key=key, descending=descending)
        total = len(hits.contacts)
    else:
        found, _ = _visible(call, filters, query)
        found.sort(key=key, reverse=descending)
        page = _page(call, body, found, key=key, descending=descending)
        total = len(found)
    contacts = []
    for contact in page:
        data = render.contact(call.state, contact)
        data["searchAfter"] = list(key(contact))
        contacts.append(data)
    return Reply(200, {"contacts": contacts, "total": total})
