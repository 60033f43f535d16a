"""Property-based hostile input: GHL webhook payloads fed to the real handlers.

Every generated payload (10,000, derandomized) goes to `WebhookHandlers.handle` with the real
store (SQLite), the real notifier and opt-out handling, the deal pipeline and `DealAlerts`
against the GHL emulator and the Slack fake. A handled rejection (an outcome string such as
"no contact id") is fine; an exception is a crash, and so is a request the emulator finds
invalid against GHL's OpenAPI files (e.g. an id that breaks the URL path).

    python -m pytest tests/e2e/test_hostile_webhooks.py -s    # prints inputs tried and time
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.web.webhook_handlers import HANDLED_TYPES, KNOWN_TYPES, WebhookHandlers
from services.ghl_map import GHLMap
from services.pipeline.core import DealPipeline
from services.property import PropertyRecord
from tests.e2e.hostile import EXAMPLES, JSON_VALUES, NASTY_TEXT, SUITE, Tally, run_property
from tests.fixtures.ops import WEBHOOK_DOCS, official_example
from tests.fixtures.pipeline import property_row
from tests.test_webhooks_handlers import LOCATION, Deals, handlers_for, texted

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

# The handled types with an official example in ghl-api/webhooks/ (not TaskCreate, NoteCreate,
# INSTALL, ...: those are fuzzed through the junk branch only).
DOCS = sorted(name for name in KNOWN_TYPES if (WEBHOOK_DOCS / f"{name}.md").exists())
ID_KEYS = ("contactId", "id", "assignedTo", "pipelineStageId", "pipelineId", "messageId")
TEXT_KEYS = ("body", "title", "status", "messageType", "direction", "type")


def payloads(ids: list[str]) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
    """(event type, payload): an official example of a handled type, its fields kept, dropped
    or replaced (mostly by ids of this world, so the handlers' real work runs; else hostile
    values), or a payload of junk. `one_of` picks its branches evenly: repeats weight them."""
    known = st.sampled_from(ids)
    some_id = st.one_of(known, known, known, NASTY_TEXT, JSON_VALUES)
    some_text = st.one_of(st.sampled_from(["STOP", "HELP", "stop", "yes, still available?"]),
                          NASTY_TEXT, JSON_VALUES)  # fmt: skip

    def mutate(doc: str) -> st.SearchStrategy[tuple[str, dict[str, Any]]]:
        base = official_example(doc) | {"locationId": LOCATION}
        fields = {
            key: st.one_of(
                st.just(value),
                some_id if key in ID_KEYS else some_text if key in TEXT_KEYS else JSON_VALUES,
            )
            for key, value in base.items()
        }
        extra = st.fixed_dictionaries({}, optional={k: some_id for k in ID_KEYS})
        return st.tuples(
            st.one_of(st.just(doc), st.just(doc), st.just(doc), st.sampled_from(DOCS),
                      st.text(max_size=12)),
            st.builds(lambda kept, more: kept | more,
                      st.fixed_dictionaries({}, optional=fields), extra),
        )  # fmt: skip

    junk = st.tuples(st.sampled_from(DOCS), st.dictionaries(st.text(max_size=12), JSON_VALUES))
    handled = st.sampled_from(sorted(HANDLED_TYPES & set(DOCS))).flatmap(mutate)
    return st.one_of(handled, handled, handled, st.sampled_from(DOCS).flatmap(mutate), junk)


@pytest.fixture
def world_handlers(notify_world, slack_fake) -> tuple[Any, WebhookHandlers, list[str]]:
    """The handlers wired as the bot wires them, and the ids of things that exist: a texted
    buyer with a deal thread, a DealFinder deal with its GHL contact and opportunity."""
    world = notify_world
    buyer = world.add_buyer(first_name="Dana")
    texted(world, buyer)
    deals = Deals(world.engine, slack_fake)
    deals.post("MLS1")
    pipeline = DealPipeline(
        world.client, world.engine, world.config, GHLMap.resolve(world.client, world.config)
    )
    created = pipeline.process(PropertyRecord.parse(property_row(2)))
    handlers = handlers_for(
        world,
        deals,
        task_completed=lambda contact, title: pipeline.advance_on_task_completed(
            contact_id=contact, task_title=title
        ),
    )
    ids = [buyer, created.contact_id, created.opportunity_id, "MLS1", "missing-contact-1"]
    return world, handlers, [i for i in ids if i]


def test_the_webhook_handlers_never_crash(world_handlers) -> None:
    world, handlers, ids = world_handlers
    tally = Tally()
    outcomes: Counter[str] = Counter()
    seen = [len(world.emulator.unexpected_violations())]

    @SUITE
    @given(event=payloads(ids))
    @example(
        event=("InboundMessage", official_example("InboundMessage") | {"locationId": LOCATION})
    )
    # Crashes found by this suite, now refused by bot.web.webhook_payloads.payload_problem: an id
    # that is a list (a SQL primary-key lookup failed), a messageType that is an object (an
    # unhashable set lookup), DND settings that are text (`.get` on a str), a path in an id.
    @example(event=("ContactDndUpdate", {"id": [None, None]}))
    @example(event=("InboundMessage", {"contactId": ids[0], "messageType": {"a": 1}}))
    @example(event=("ContactDndUpdate", {"id": ids[0], "dndSettings": {"SMS": "active"}}))
    @example(event=("ContactUpdate", {"id": "../locations/x?y=1"}))
    def check(event: tuple[str, dict[str, Any]]) -> None:
        tally()
        event_type, payload = event
        outcome = handlers.handle(event_type, payload, world.clock.now)
        assert isinstance(outcome, str) and outcome
        outcomes[outcome.split(":")[0].split("(")[0].strip()] += 1
        violations = world.emulator.unexpected_violations()
        new, seen[0] = violations[seen[0] :], len(violations)
        assert not new, f"GHL would refuse what the handler sent: {new}"

    inputs, _ = run_property("GHL webhook handlers", check, tally)
    print("outcomes:", ", ".join(f"{name} x{n}" for name, n in outcomes.most_common(12)))
    assert inputs >= EXAMPLES
    # Not all refused at the door: the generated payloads reach the handlers' real work.
    deep = {"buyer refreshed", "sms dnd on", "sms dnd off", "other", "not a buyer"}
    assert len(deep & set(outcomes)) >= 3, outcomes
