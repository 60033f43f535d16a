"""A deterministic demo sub-account: pipeline, custom fields, agents, workflows and buyers.

Same `seed`, same records (ids included). Buyers sit around six metros with real ZIP codes,
matching area codes and IANA time zones; phones are 555-01XX numbers (reserved for fiction)
in E.164. About 70 % have `sms_opt_in`, 8 % have SMS DND, 20 % no time zone (the product must
infer it from the area code or ZIP), and 5 % carry bad data (budget_min > budget_max,
non-numeric budget, empty buy box, or no phone).

    summary = seed_demo(state, buyers=200, seed=1)                 # loc_demo
    seed_demo(state, buyers=5, location_id="loc_other")            # any other location
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandbox.ghl_emulator.config import DEMO_LOCATION_ID, DEMO_TOKEN
from sandbox.ghl_emulator.state import (
    Contact,
    CustomField,
    Location,
    Pipeline,
    Stage,
    State,
    Tag,
    User,
    Workflow,
    new_id,
)

PIPELINE_NAME = "DealFinder Acquisitions"
STAGES = (
    "New Lead",
    "Good Deal",
    "Hot Deal",
    "Priority Review",
    "Buyers Contacted",
    "Showing Booked",
    "Under Contract",
    "Closed",
)
TAGS = (
    "active_buyer",
    "sms_opt_in",
    "automated",
    "dealfinder",
    "hot_deal",
    "good_deal",
    "deal_notified",
)
WORKFLOWS = ("Hot Deal Alert", "Buyer Match Follow-up")
PROPERTY_TYPES = ("single_family", "multi_family", "condo", "townhouse", "land")
CONTACT_FIELDS = (
    ("budget_min", "Budget Min", "NUMERICAL"),
    ("budget_max", "Budget Max", "NUMERICAL"),
    ("location_preference", "Location Preference", "TEXT"),
    # TEXT (comma-separated), not MULTIPLE_OPTIONS: contacts' custom field values are strings
    # in the files, so a list value could not be answered validly.
    ("property_type_preference", "Property Type Preference", "TEXT"),
    ("min_bedrooms", "Min Bedrooms", "NUMERICAL"),
)
OPPORTUNITY_FIELDS = (
    ("property_address", "Property Address", "TEXT"),
    ("deal_score", "Deal Score", "NUMERICAL"),
    ("list_price", "List Price", "MONETORY"),
    ("est_profit", "Estimated Profit", "MONETORY"),
    ("mls_id", "MLS ID", "TEXT"),
    ("arv", "ARV", "MONETORY"),
    ("repair_cost", "Repair Cost", "MONETORY"),
    ("beds", "Beds", "NUMERICAL"),
    ("baths", "Baths", "NUMERICAL"),
    ("sqft", "Square Feet", "NUMERICAL"),
    ("property_type", "Property Type", "TEXT"),
    ("days_on_market", "Days on Market", "NUMERICAL"),
    ("city", "City", "TEXT"),
    ("zip", "ZIP", "TEXT"),
    ("state", "State", "TEXT"),
)


@dataclass(frozen=True)
class Metro:
    city: str
    state: str
    timezone: str
    area_codes: tuple[str, ...]
    zips: tuple[str, ...]
    budget: tuple[int, int]
    agent: str


METROS = (
    Metro("Tampa", "FL", "America/New_York", ("813", "727"),
          ("33602", "33606", "33611", "33612", "33629", "33647"), (150_000, 450_000), "east"),
    Metro("Austin", "TX", "America/Chicago", ("512", "737"),
          ("78701", "78704", "78745", "78748", "78758"), (200_000, 600_000), "texas"),
    Metro("Phoenix", "AZ", "America/Phoenix", ("602", "480", "623"),
          ("85004", "85008", "85016", "85032", "85044"), (180_000, 500_000), "mountain"),
    Metro("Columbus", "OH", "America/New_York", ("614", "380"),
          ("43201", "43206", "43215", "43229", "43085"), (100_000, 300_000), "east"),
    Metro("Denver", "CO", "America/Denver", ("303", "720"),
          ("80202", "80205", "80210", "80219", "80231"), (250_000, 700_000), "mountain"),
    Metro("Los Angeles", "CA", "America/Los_Angeles", ("213", "323", "310", "818"),
          ("90012", "90019", "90026", "90042", "91331"), (400_000, 1_200_000), "west"),
)  # fmt: skip

# Agents and the metros (by `Metro.agent`) they cover.
AGENTS = (
    ("east", "Maria", "Lopez", "+18135550100"),
    ("texas", "James", "Carter", "+15125550100"),
    ("mountain", "Priya", "Shah", "+16025550100"),
    ("west", "Daniel", "Kim", "+12135550100"),
)
FIRST_NAMES = (
    "Alex", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn", "Drew",
    "Sam", "Chris", "Pat", "Robin", "Dana", "Lee", "Kendall", "Reese", "Skyler", "Cameron",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Brown", "Garcia", "Miller", "Davis", "Martinez", "Wilson", "Anderson",
    "Thomas", "Moore", "Jackson", "White", "Harris", "Clark", "Lewis", "Young", "Hall", "Allen",
)  # fmt: skip
_BASE_MS = int(datetime(2025, 1, 6, 15, 0, tzinfo=UTC).timestamp() * 1000)
_DAY_MS = 86_400_000


def _clear(state: State, location_id: str) -> None:
    for table in (
        state.contacts,
        state.pipelines,
        state.opportunities,
        state.custom_fields,
        state.tags,
        state.users,
        state.workflows,
    ):
        for key in [k for k, v in table.items() if v.location_id == location_id]:
            del table[key]


def _unique_name(first: str, last: str, used: set[str], *, index: int) -> tuple[str, str]:
    """The drawn name, or the next free one after it: two buyers with the same name side by
    side in Slack look like one person. Walks the name lists without touching the random
    stream, so every other seeded value stays as it was. Past the 380 pairs (benchmarks seed
    100,000 buyers) the buyer's number keeps names apart in constant time."""
    pairs = len(FIRST_NAMES) * len(LAST_NAMES)
    if index >= pairs:
        candidate = (first, f"{last} {index + 1}")
        used.add("name:" + " ".join(candidate))
        return candidate
    f0, l0 = FIRST_NAMES.index(first), LAST_NAMES.index(last)
    for pair in range(pairs):
        f = FIRST_NAMES[(f0 + pair) % len(FIRST_NAMES)]
        lname = LAST_NAMES[(l0 + pair // len(FIRST_NAMES)) % len(LAST_NAMES)]
        key = f"name:{f} {lname}"
        if key not in used:
            used.add(key)
            return f, lname
    raise ValueError("more demo buyers than distinct demo names")  # index < pairs: unreachable


def _phone(rng: random.Random, metro: Metro, used: set[str]) -> str:
    for _ in range(200):
        number = f"+1{rng.choice(metro.area_codes)}5550{rng.randint(101, 199)}"
        if number not in used:
            used.add(number)
            return number
    # 555-01XX is exhausted for this metro (many hundreds of buyers): fall back to other lines.
    while True:
        number = (
            f"+1{rng.choice(metro.area_codes)}{rng.randint(201, 998)}{rng.randint(0, 9999):04d}"
        )
        if number not in used:
            used.add(number)
            return number


def _buy_box(rng: random.Random, metro: Metro, fields: dict[str, str]) -> dict[str, Any]:
    low, high = metro.budget
    budget_min = rng.randrange(low, (low + high) // 2, 5_000)
    budget_max = rng.randrange(budget_min + 25_000, high + 25_000, 5_000)
    places = rng.sample([metro.city, *metro.zips], k=rng.randint(1, 3))
    kinds = rng.sample(PROPERTY_TYPES[:4], k=rng.randint(1, 3))
    return {
        fields["budget_min"]: budget_min,
        fields["budget_max"]: budget_max,
        fields["location_preference"]: ", ".join(places),
        fields["property_type_preference"]: ", ".join(kinds),
        fields["min_bedrooms"]: rng.randint(1, 4),
    }


def _spoil(rng: random.Random, contact: Contact, fields: dict[str, str]) -> None:
    """Give a buyer one of the data problems real CRMs hold."""
    problem = rng.choice(("inverted_budget", "text_budget", "empty_box", "no_phone"))
    if problem == "inverted_budget":
        box = contact.custom_fields
        low, high = box[fields["budget_min"]], box[fields["budget_max"]]
        box[fields["budget_min"]], box[fields["budget_max"]] = high, low
    elif problem == "text_budget":
        contact.custom_fields[fields["budget_max"]] = rng.choice(("call me", "300k", "TBD"))
    elif problem == "empty_box":
        contact.custom_fields = {}
    else:
        contact.phone = None


def _fields(state: State, rng: random.Random, location_id: str) -> dict[str, str]:
    ids: dict[str, str] = {}
    for model, specs in (("contact", CONTACT_FIELDS), ("opportunity", OPPORTUNITY_FIELDS)):
        for position, (key, name, data_type) in enumerate(specs):
            field = CustomField(
                id=new_id(rng),
                location_id=location_id,
                name=name,
                field_key=f"{model}.{key}",
                data_type=data_type,
                model=model,
                position=position,
            )
            state.custom_fields[field.id] = field
            ids[key if model == "contact" else f"opportunity.{key}"] = field.id
    return ids


def seed_demo(
    state: State, *, buyers: int = 200, seed: int = 1, location_id: str = DEMO_LOCATION_ID
) -> dict[str, int]:
    """Replace a location's data with a fresh, seeded demo set; returns record counts.

    The demo location also gets the published `DEMO_TOKEN`; another location keeps only the
    tokens configured for it.
    """
    # Seeded per location too, so two seeded locations never share record ids.
    rng = random.Random(f"{location_id}:{seed}")
    loc = location_id
    with state.lock:
        _clear(state, loc)
        if loc == DEMO_LOCATION_ID:
            state.tokens[DEMO_TOKEN] = loc
        state.locations[loc] = Location(
            id=loc,
            name="DealFinder Demo Realty",
            timezone="America/New_York",
            company_id="comp_demo",
            address="401 E Jackson St",
            city="Tampa",
            state="FL",
            postal_code="33602",
            email="office@example.com",
            phone="+18135550101",
        )
        stages = [
            Stage(id=str(uuid.UUID(int=rng.getrandbits(128), version=4)), name=name, position=i)
            for i, name in enumerate(STAGES)
        ]
        pipeline = Pipeline(id=new_id(rng), location_id=loc, name=PIPELINE_NAME, stages=stages)
        state.pipelines[pipeline.id] = pipeline
        fields = _fields(state, rng, loc)
        for name in TAGS:
            tag = Tag(id=new_id(rng), location_id=loc, name=name)
            state.tags[tag.id] = tag
        agents: dict[str, str] = {}
        for territory, first, last, phone in AGENTS:
            email = f"{first.lower()}.{last.lower()}@example.com"
            user = User(new_id(rng), loc, first, last, email, phone)
            state.users[user.id] = user
            agents[territory] = user.id
        for position, name in enumerate(WORKFLOWS):
            made = _BASE_MS - (30 - position) * _DAY_MS
            flow = Workflow(new_id(rng), loc, name, created_at=made, updated_at=made)
            state.workflows[flow.id] = flow
        used: set[str] = {phone for *_, phone in AGENTS}
        for index in range(buyers):
            _add_buyer(state, rng, loc, index=index, fields=fields, agents=agents, used=used)
    return {
        "contacts": buyers,
        "custom_fields": len(fields),
        "users": len(agents),
        "workflows": len(WORKFLOWS),
        "pipelines": 1,
    }


def _add_buyer(
    state: State,
    rng: random.Random,
    location_id: str,
    *,
    index: int,
    fields: dict[str, str],
    agents: dict[str, str],
    used: set[str],
) -> None:
    metro = rng.choice(METROS)
    first, last = _unique_name(rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES), used, index=index)
    added = _BASE_MS + rng.randrange(0, 300 * _DAY_MS)
    tags = ["active_buyer"]
    if rng.random() < 0.70:
        tags.append("sms_opt_in")
    contact = Contact(
        id=new_id(rng),
        location_id=location_id,
        date_added=added,
        date_updated=added + rng.randrange(0, 30 * _DAY_MS),
        first_name=first,
        last_name=last,
        email=f"{first}.{last}{index}@example.com".lower(),
        phone=_phone(rng, metro, used),
        timezone=metro.timezone if rng.random() >= 0.20 else None,
        tags=tags,
        custom_fields=_buy_box(rng, metro, fields),
        assigned_to=agents[metro.agent],
        extra={
            "city": metro.city,
            "state": metro.state,
            "postalCode": rng.choice(metro.zips),
            "country": "US",
            "source": "demo",
        },
    )
    if rng.random() < 0.08:
        contact.dnd_settings = {"SMS": {"status": "active", "message": "STOP received"}}
        contact.dnd = rng.random() < 0.5
    if rng.random() < 0.05:
        _spoil(rng, contact, fields)
    state.contacts[contact.id] = contact
