"""Analysed properties for the soak: a deterministic batch in the emulator's demo metros.

Prices follow each metro's market (`services/samples/mls_batch.json`), ZIPs and cities are the
demo buyers' own (`sandbox.ghl_emulator.demo_data.METROS`) so buyers match, and about a fifth of the
scores are hot. Every listing has its own agent email and phone: GHL finds the seller contact
by them, and a location without "Allow Duplicate Contact" refuses a second contact with the
same phone.

    rows = soak_rows(1000, seed=7)
    write_jsonl(tmp_path / "soak.jsonl", rows)
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

# (city, state, MLS prefix, seller area code, demo ZIPs, price range, streets)
METROS = (
    ("Tampa", "FL", "TPA", "813", ("33602", "33606", "33611", "33629"), (180_000, 420_000),
     ("Bayshore Blvd", "W Swann Ave", "S Dale Mabry Hwy")),
    ("Austin", "TX", "ATX", "512", ("78701", "78704", "78745", "78748"), (240_000, 560_000),
     ("Barton Springs Rd", "S Congress Ave", "E Riverside Dr")),
    ("Phoenix", "AZ", "PHX", "602", ("85004", "85008", "85016", "85032"), (210_000, 460_000),
     ("N Central Ave", "E Camelback Rd", "W Indian School Rd")),
    ("Columbus", "OH", "CMH", "614", ("43201", "43206", "43215", "43229"), (120_000, 290_000),
     ("E Livingston Ave", "N High St", "Parsons Ave")),
    ("Denver", "CO", "DEN", "303", ("80202", "80205", "80210", "80219"), (300_000, 650_000),
     ("Larimer St", "S Pearl St", "Federal Blvd")),
    ("Los Angeles", "CA", "LAX", "213", ("90012", "90019", "90026", "90042"),
     (480_000, 1_100_000), ("Echo Park Ave", "W Sunset Blvd", "York Blvd")),
)  # fmt: skip
TYPES = ("Single Family", "condo", "Townhome", "Duplex")
AGENTS = ("Linda Park", "Robert Chen", "Angela Ruiz", "Marcus Webb", "Grace Holt", "Omar Haddad")
NOTES = (
    "Motivated seller relocating; comps support the ARV within 0.5 mi. Needs roof and HVAC.",
    "Estate sale. Foundation inspected last year, no issues. Kitchen dated.",
    "Tenant in place through June. Good rental numbers.",
    "Price cut twice. Cosmetic rehab only; two comps closed above ARV this quarter.",
)
HOT_SHARE = 0.22
GOOD_SHARE = 0.35


def _score(rng: random.Random) -> int:
    draw = rng.random()
    if draw < HOT_SHARE:
        return rng.randint(90, 99)
    if draw < HOT_SHARE + GOOD_SHARE:
        return rng.randint(75, 89)
    return rng.randint(25, 74)


def soak_row(i: int, rng: random.Random) -> dict[str, Any]:
    """Listing number `i` (unique MLS id, agent email and phone)."""
    city, state, prefix, area, zips, (low, high), streets = METROS[i % len(METROS)]
    price = round(rng.uniform(low, high) / 5_000) * 5_000
    arv = round(price * rng.uniform(1.15, 1.45) / 1_000) * 1_000
    repairs = round(price * rng.uniform(0.03, 0.12) / 1_000) * 1_000
    agent = AGENTS[i % len(AGENTS)]
    first, last = agent.lower().split()
    return {
        "mls_id": f"{prefix}26{i:05d}",
        "address": f"{100 + i} {streets[i % len(streets)]}",
        "city": city,
        "state": state,
        "zip": zips[(i // len(METROS)) % len(zips)],
        "list_price": price,
        "arv": arv,
        "est_profit": max(arv - price - repairs - round(arv * 0.08), 5_000),
        "repair_cost": repairs,
        "beds": rng.randint(1, 5),
        "baths": rng.choice((1, 1.5, 2, 2.5, 3)),
        "sqft": rng.randrange(800, 3_200, 10),
        "property_type": TYPES[rng.randrange(len(TYPES))],
        "deal_score": _score(rng),
        "days_on_market": rng.randint(0, 90),
        "agent_name": agent,
        "agent_email": f"{first}.{last}.{i}@example.com",
        "agent_phone": f"+1{area}555{2000 + i:04d}",  # 555-2xxx: no demo buyer or agent line
        "analysis_notes": NOTES[i % len(NOTES)],
    }


def soak_rows(count: int, *, seed: int = 7) -> list[dict[str, Any]]:
    """`count` listings (at most 8,000: the phone numbers stay unique), the same for a seed."""
    if not 0 < count <= 8_000:
        raise ValueError("count must be between 1 and 8,000")
    rng = random.Random(seed)
    return [soak_row(i, rng) for i in range(count)]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    """The rows as JSON Lines, the format the MLS side hands over in bulk."""
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path
