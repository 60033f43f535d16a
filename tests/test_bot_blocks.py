"""Escaping and Block Kit limits: hostile text from users or GHL is shown literally, and every
message the builders make passes the Slack fake's own Block Kit validator, however long."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.slack import blocks, messages
from bot.slack.escape import ELLIPSIS, clip, escape, one_line, safe
from ghl.health import GHLHealth
from matching.models import MatchResult, ScoreComponent
from sandbox.slack_fake.blocks import message_block_problems, view_problems
from services.desk import BuyerLine, DealCard
from services.notify.plan import NotifyPlan, PlannedNotification
from services.validator import CheckRow, ValidationReport

HOSTILE = "<!channel> <@U0ADMIN01> <https://evil.example|click me> & <!here>"
RAW_MARKUP = ("<!channel>", "<@U0ADMIN01>", "<https://evil", "<!here>")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("12 Oak St", "12 Oak St"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("Smith & Sons <b>", "Smith &amp; Sons &lt;b&gt;"),
        ("&amp; already", "&amp;amp; already"),
        ("tab\tand\x07bell", "tab\tand bell"),
        (None, ""),
        (245000, "245000"),
    ],
)
def test_escape_makes_slack_markup_literal(text: object, shown: str) -> None:
    assert escape(text) == shown


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("a" * 11, 10, "a" * 9 + ELLIPSIS),
        ("abcdef&amp;", 9, "abcdef" + ELLIPSIS),  # never half an entity
        ("ab&lt;cd", 7, "ab&lt;" + ELLIPSIS),
        ("ab&lt;cd", 6, "ab" + ELLIPSIS),
    ],
)
def test_clip_cuts_with_an_ellipsis_and_keeps_entities_whole(
    text: str, limit: int, expected: str
) -> None:
    assert clip(text, limit) == expected
    assert len(clip(text, limit)) <= limit


def test_safe_and_one_line() -> None:
    assert safe("<x>" * 2000, 3000).endswith(ELLIPSIS)
    assert len(safe("<x>" * 2000, 3000)) <= 3000
    assert one_line("a\n\n b  <c>") == "a b &lt;c&gt;"


def hostile_card(**changes: object) -> DealCard:
    values: dict = {
        "mls_id": "TPA-1",
        "address": f"12 Oak St {HOSTILE}",
        "city": "Tampa <!everyone>",
        "state": "FL",
        "zip": "33602",
        "price": 245_000,
        "arv": 320_000,
        "est_profit": 40_000,
        "score": 93,
        "hot": True,
        "stage": "Hot <!channel>",
        "owner": "Maria <@U0BROKER1>",
        "opportunity_id": "opp1",
        "opportunity_url": "https://app.gohighlevel.com/v2/location/l/opportunities/list?opportunityId=o",
        "tasks": (f"Review {HOSTILE}",),
        "top_buyers": tuple(BuyerLine(f"c{i}", f"Buyer {i} {HOSTILE}", 90 - i) for i in range(3)),
        "claimed_by": "U0BROKER1",
        "passed_by": ("U0AGENT01", "<!channel>"),
        "notified": 2,
        "queued": 1,
        "ghl_problem": f"GHL said {HOSTILE}",
    }
    values.update(changes)
    return DealCard(**values)


def _texts(value: object) -> list[str]:
    """Every string inside a block structure."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list | tuple):
        return [t for v in value for t in _texts(v)]
    return []


def assert_no_live_markup(built: object) -> None:
    for text in _texts(built):
        for raw in RAW_MARKUP:
            assert raw not in text, f"{raw!r} reached Slack unescaped in {text!r}"


def test_deal_card_shows_hostile_text_literally_and_is_valid_block_kit() -> None:
    card = hostile_card()
    built = blocks.deal_card_blocks(card)
    assert message_block_problems(built) == []
    assert_no_live_markup(built)
    assert_no_live_markup(blocks.deal_card_text(card))
    text = json.dumps(built)
    assert "&lt;!channel&gt;" in text
    # Our own mention of who claimed it stays a mention; a non-id "user" does not.
    assert "<@U0BROKER1>" in text and "&lt;!channel&gt;" in messages.passed_line(["<!channel>"])


def test_deal_card_buttons_carry_the_mls_id_and_the_ghl_link() -> None:
    card = hostile_card()
    row = blocks.deal_card_blocks(card)[-1]
    assert [e["action_id"] for e in row["elements"]] == [
        blocks.CLAIM,
        blocks.NOTIFY,
        blocks.OPEN_IN_GHL,
        blocks.SKIP_DEAL,
    ]
    assert {e["value"] for e in row["elements"]} == {"TPA-1"}
    assert row["elements"][2]["url"] == card.opportunity_url
    assert blocks.deal_card_blocks(card)[0]["block_id"] == blocks.card_block_id("TPA-1")


def test_huge_values_are_clipped_to_slacks_limits() -> None:
    card = hostile_card(
        address="A" * 10_000,
        owner="O" * 5_000,
        tasks=tuple("T" * 900 for _ in range(20)),
        top_buyers=tuple(BuyerLine(f"c{i}", "N" * 400, 80) for i in range(60)),
    )
    built = blocks.deal_card_blocks(card)
    assert message_block_problems(built) == []
    for block in built:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
    assert ELLIPSIS in json.dumps(built, ensure_ascii=False)


def _match(contact_id: str, score: int) -> MatchResult:
    parts = (
        ScoreComponent("budget", score - 60, 40, f"budget {HOSTILE}"),
        ScoreComponent("location", 30, 30, "Tampa"),
        ScoreComponent("property_type", 20, 20, "single family"),
        ScoreComponent("bedrooms", 10, 10, "3 bd"),
    )
    return MatchResult(contact_id=contact_id, score=score, components=parts)


def test_match_answer_with_25_buyers_and_many_exclusions_fits_one_message() -> None:
    results = [_match(f"c{i}", 100 - i) for i in range(25)]
    built = blocks.match_blocks(
        mls_id="TPA-1", title="*12 Oak St*", results=results,
        names={f"c{i}": f"Buyer {HOSTILE}" for i in range(25)}, total=400, min_score=70,
        freshness="buyers synced 3 min ago", excluded_count=4,
        not_texted=[(f"Name {i} {HOSTILE}", "no sms_opt_in tag") for i in range(300)],
    )  # fmt: skip
    assert message_block_problems(built) == []
    assert len(built) <= 50
    assert_no_live_markup(built)
    assert "… and" in json.dumps(built, ensure_ascii=False)  # the long exclusion list is cut


def _entry(group: str, i: int, **extra: object) -> PlannedNotification:
    return PlannedNotification(
        contact_id=f"c{i}", name=f"Buyer {i} {HOSTILE}", score=90, reasons=(), group=group,  # type: ignore[arg-type]
        code="x", reason=f"reason {HOSTILE}", **extra,
    )  # fmt: skip


def test_notify_confirmation_lists_every_group_and_offers_confirm_only_when_someone_is_texted():
    at = datetime(2027, 1, 15, 13, 0, tzinfo=UTC)
    entries = (
        _entry("send_now", 1),
        replace(_entry("deferred", 2, send_at=datetime(2027, 1, 16, 16, 0, tzinfo=UTC),
                       zone="America/Los_Angeles", cap=3), code="daily_cap"),
        replace(_entry("excluded", 3), code="dnd_sms"),
        _entry("already", 4),
    )  # fmt: skip
    plan = NotifyPlan(mls_id="TPA-1", planned_at=at, location_timezone=None, link="x",
                      entries=entries)  # fmt: skip
    built = blocks.notify_confirm_blocks(plan)
    assert message_block_problems(built) == []
    assert_no_live_markup(built)
    text = json.dumps(built, ensure_ascii=False)
    # The conclusion before the lists, then each cause in plain words on the buyer's clock.
    assert built[1]["text"]["text"] == (
        "*1 will be texted now, 1 later, 1 not; 1 already texted or queued*"
    )
    assert "— later: daily cap of 3 reached — next at 8:00 AM PST tomorrow" in text
    assert "— Do Not Disturb for texts is on for this contact in GHL" in text
    assert [e["action_id"] for e in built[-1]["elements"]] == [
        blocks.NOTIFY_CONFIRM,
        blocks.NOTIFY_CANCEL,
    ]
    nobody = NotifyPlan(mls_id="TPA-1", planned_at=at, location_timezone=None, link="x",
                        entries=(_entry("excluded", 3),))  # fmt: skip
    assert "actions" not in {b["type"] for b in blocks.notify_confirm_blocks(nobody)}


def test_health_and_validation_tables_are_valid_and_put_failures_first() -> None:
    health = GHLHealth(
        ok=True, state="degraded", location_name="Demo <!channel>", latency_ms=12.0,
        burst_remaining=80, burst_max=100, daily_remaining=9_000, daily_max=200_000,
        problems=["quota <low>"],
    )  # fmt: skip
    rows = [CheckRow(f"field {i} <!here>", i % 7 != 3, "detail " * 20, "fix it") for i in range(80)]
    report = ValidationReport(location="Demo", rows=rows)
    built = blocks.validate_blocks(report, health)
    assert message_block_problems(built) == []
    assert_no_live_markup(built)
    first_check = built[1]["text"]["text"]
    assert first_check.startswith(":x:")
    assert "burst 80/100" in json.dumps(built)


def test_add_form_is_a_valid_modal_with_the_record_fields() -> None:
    view = blocks.add_form_view(private_metadata='{"channel_id": "C0DEALS"}')
    assert view_problems(view) == []
    assert view["callback_id"] == blocks.ADD_FORM
    required = {b["block_id"] for b in view["blocks"] if not b["optional"]}
    assert required == {"mls_id", "address", "city", "state", "zip", "list_price",
                        "deal_score", "seller_contact"}  # fmt: skip


def test_more_than_fifty_blocks_are_capped_with_a_note() -> None:
    many = [blocks.section(f"line {i}") for i in range(120)]
    capped = blocks.capped(many)
    assert len(capped) == 50 and "71 more" in capped[-1]["elements"][0]["text"]
    assert message_block_problems(capped) == []
