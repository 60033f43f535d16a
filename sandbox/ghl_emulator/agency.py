"""An agency's sub-accounts: N demo locations, each with its own records, limits and tokens.

Issue 14 ("Agency scale"): GHL's limits are per app per location, so one deployment serving
ten locations has ten times the capacity of one. The emulator plays the agency:

    ids = seed_agency(state, locations=10, buyers=20)    # loc_agency_01 .. loc_agency_10
    # each: its own pipeline + stages, custom fields, agents, workflows and buyers (own ids);
    # a private integration token `emu-agency-01` ..; the OAuth chooser approves them all as
    # one company install (`comp_agency`), so `/ghl/install` yields one token pair per location.

Names differ per location the way real sub-accounts drift apart: custom field labels carry the
office ("Budget Min (Tampa office)"; DealFinder's mapping still finds them by field key). With
`distinct_pipelines`, each pipeline is named after its office too, so a mapping written for
one location does not fit another (tests of per-location mappings). Agents keep their e-mail
addresses (the mapping names users by e-mail); their ids, like every record's, are the
location's own.
"""

from __future__ import annotations

from sandbox.ghl_emulator.demo_data import METROS, PIPELINE_NAME, seed_demo
from sandbox.ghl_emulator.oauth_state import InstallChoice
from sandbox.ghl_emulator.state import State

AGENCY_COMPANY_ID = "comp_agency"
# Published, like DEMO_TOKEN: valid against nothing but the emulator.
AGENCY_TOKEN_PREFIX = "emu-agency-"  # noqa: S105


def agency_location_id(number: int) -> str:
    """`loc_agency_01` for 1; three digits from 100 on."""
    return f"loc_agency_{number:02d}"


def agency_location_ids(count: int) -> list[str]:
    if count < 0:
        raise ValueError(f"locations must be 0 or more, not {count}")
    return [agency_location_id(n) for n in range(1, count + 1)]


def agency_token(location_id: str) -> str:
    """The published private integration token of an agency location."""
    return AGENCY_TOKEN_PREFIX + location_id.removeprefix("loc_agency_")


def office_of(number: int) -> str:
    """The office (a demo metro) a location is named after: Tampa, Austin, ... round robin."""
    return METROS[(number - 1) % len(METROS)].city


def seed_agency(
    state: State,
    *,
    locations: int,
    buyers: int = 20,
    seed: int = 1,
    distinct_pipelines: bool = False,
) -> list[str]:
    """Seed `locations` agency sub-accounts and approve them all for a company install."""
    ids = agency_location_ids(locations)
    for number, location_id in enumerate(ids, start=1):
        seed_demo(state, buyers=buyers, seed=seed, location_id=location_id)
        with state.lock:
            _make_it_the_offices_own(state, location_id, number, distinct_pipelines)
            state.tokens[agency_token(location_id)] = location_id
    with state.oauth.lock:
        state.oauth.choice = InstallChoice(
            user_type="Company", company_id=AGENCY_COMPANY_ID, locations=tuple(ids)
        )
    return ids


def _make_it_the_offices_own(
    state: State, location_id: str, number: int, distinct_pipelines: bool
) -> None:
    office = office_of(number)
    metro = METROS[(number - 1) % len(METROS)]
    location = state.locations[location_id]
    location.name = f"{office} Office {number:02d}"
    location.company_id = AGENCY_COMPANY_ID
    location.city, location.state, location.timezone = metro.city, metro.state, metro.timezone
    for field in state.fields_of(location_id):
        field.name = f"{field.name} ({office} office)"
    if distinct_pipelines:
        for pipeline in state.pipelines.values():
            if pipeline.location_id == location_id:
                pipeline.name = f"{PIPELINE_NAME} {office} {number:02d}"
