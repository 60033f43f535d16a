"""The Slack app manifest is valid, and it, the Block Kit builders and the bolt app agree:
every slash command in the manifest has a listener and every command listener is in the
manifest; every event the manifest subscribes to has one listener and every event listener is
subscribed, with the scopes and features the event needs (links -> unfurl domains, Home tab);
every action_id/callback_id the builders emit has a listener and every listener handles one.
Listeners are found by asking bolt's own matchers (`Listener.matches`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.listener import Listener

from bot.settings import Settings
from bot.slack import blocks
from bot.slack.blocks_edit import note_form_view
from bot.slack.ghl_links import GHLLink, parse_ghl_link
from bot.slack.home.blocks import HomeData, home_view, unfurl_blocks
from bot.slack.listeners import register_listeners
from bot.slack.listeners.grammar import DEAL
from bot.slack.listeners.registry import (
    COMMANDS,
    SUBCOMMANDS,
    help_text,
    malformed,
    subcommands_of,
    usage,
)
from bot.slack.optout_review import review_blocks
from ghl.client import GHLClient
from services.desk import BuyerLine, DealCard
from services.notify.plan import NotifyPlan, PlannedNotification
from store.models import OptoutReview

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.yml"
KNOWN_SCOPES = {
    "commands", "chat:write", "chat:write.public", "users:read", "users:read.email",
    "usergroups:read", "channels:history", "groups:history", "channels:read", "im:write",
    "links:read", "links:write",
}  # fmt: skip
# What each Events API subscription needs besides itself: scopes, and a manifest feature.
EVENT_SCOPES = {"link_shared": {"links:read", "links:write"}, "app_home_opened": set()}
FALLBACKS = {"ack_unknown", "ack_unknown_view"}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def app() -> App:
    bolt = App(token="xoxb-test", signing_secret="x", token_verification_enabled=False)
    register_listeners(bolt)
    return bolt


def test_manifest_is_a_valid_app_manifest(manifest: dict[str, Any]) -> None:
    info = manifest["display_information"]
    assert 1 <= len(info["name"]) <= 35 and len(info["description"]) <= 140
    assert 175 <= len(info["long_description"]) <= 4000
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", info["background_color"])
    assert manifest["features"]["bot_user"]["display_name"]
    for command in manifest["features"]["slash_commands"]:
        assert re.fullmatch(r"/[a-z][a-z0-9_-]{0,31}", command["command"])
        assert 0 < len(command["description"]) <= 2000 and command["usage_hint"]
        assert command["url"].startswith("https://") and command["url"].endswith("/slack/events")
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert settings["org_deploy_enabled"] is False
    assert settings["socket_mode_enabled"] is True
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert set(scopes) <= KNOWN_SCOPES and {"commands", "chat:write"} <= set(scopes)
    assert "chat:write.public" not in scopes  # the bot is invited to the deals channel


def test_people_by_email_scopes_and_the_deal_usage_hint(manifest: dict[str, Any]) -> None:
    """users.lookupByEmail needs users:read.email (which Slack grants only with users:read);
    the /deal hint names every subcommand the grammar knows, whoami and stage included."""
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"users:read", "users:read.email"} <= scopes
    [deal] = [c for c in manifest["features"]["slash_commands"] if c["command"] == "/deal"]
    named = {part.split()[0] for part in deal["usage_hint"].split("|") if part.strip()}
    assert {s.name for s in subcommands_of(DEAL)} <= named and {"whoami", "stage"} <= named


def test_the_manifest_the_registry_and_the_help_agree(manifest: dict[str, Any]) -> None:
    """One subcommand, one record: manifest.yml's slash commands are the registry's commands,
    each command's usage_hint is its subcommands' hints in registry order, and the help users
    see (`/deal help`, also the answer to an unknown subcommand) is every subcommand's exact
    usage and summary, in that order. A subcommand added anywhere but the registry, or
    a hint edited in the manifest alone, fails here."""
    slash = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert list(slash) == list(COMMANDS)
    for command, entry in slash.items():
        hints = [sub.hint for sub in subcommands_of(command)]
        assert entry["usage_hint"] == " | ".join(hints), command
    title, *lines = help_text().split("\n")
    assert title == "*DealFinder commands*"
    assert lines == [f"• {usage(s.command, s.name)} — {s.summary}" for s in SUBCOMMANDS]
    for sub in SUBCOMMANDS:  # a malformed command shows the usage the help shows
        answer = malformed(sub.command, sub.name, "wrong")
        assert answer.endswith(f"\nUsage: {usage(sub.command, sub.name)}")


def _request(body: dict[str, Any]) -> BoltRequest:
    return BoltRequest(body=body, mode="socket_mode")


def _command(name: str) -> dict[str, Any]:
    return {"command": name, "text": "", "user_id": "U1", "team_id": "T1"}


def _action(action_id: str) -> dict[str, Any]:
    button = {"type": "button", "action_id": action_id, "block_id": "b1", "action_ts": "1"}
    return {"type": "block_actions", "user": {"id": "U1"}, "actions": [button]}


def _view(callback_id: str) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "user": {"id": "U1"},
        "view": {"type": "modal", "callback_id": callback_id},
    }


def _event(event_type: str) -> dict[str, Any]:
    return {
        "type": "event_callback",
        "team_id": "T1",
        "event_id": "Ev1",
        "event": {"type": event_type, "user": "U1", "channel": "C1", "event_ts": "1.000001"},
    }


def _handlers(app: App, body: dict[str, Any]) -> list[Listener]:
    request = _request(body)
    return [
        listener
        for listener in app._listeners
        if listener.ack_function.__name__ not in FALLBACKS
        and listener.matches(req=request, resp=BoltResponse(status=200))
    ]


def _probes(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    return (
        [_command(c) for c in commands]
        + [_event(e) for e in events]
        + [_action(a) for a in blocks.ACTION_IDS]
        + [_view(v) for v in blocks.CALLBACK_IDS]
    )


def test_every_manifest_command_has_a_listener_and_the_grammar_knows_it(
    manifest: dict[str, Any], app: App
) -> None:
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert commands == set(COMMANDS)
    for command in commands:
        assert len(_handlers(app, _command(command))) == 1, command
    assert _handlers(app, _command("/not-in-manifest")) == []


def test_every_subscribed_event_has_one_listener_and_what_it_needs(
    manifest: dict[str, Any], app: App
) -> None:
    subscriptions = manifest["settings"]["event_subscriptions"]
    assert subscriptions["request_url"].endswith("/slack/events")
    events = set(subscriptions["bot_events"])
    assert events == set(EVENT_SCOPES)
    for event in events:
        assert len(_handlers(app, _event(event))) == 1, event
    assert _handlers(app, _event("reaction_added")) == []  # not subscribed, not handled
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    for event in events:
        assert EVENT_SCOPES[event] <= scopes, event
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    # The bot answers privately by DM when it cannot post in a channel: keep that tab.
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True


def test_the_unfurl_domains_are_those_the_bot_previews(manifest: dict[str, Any]) -> None:
    domains = tuple(manifest["features"]["unfurl_domains"])
    assert domains == Settings(_env_file=None).app_domains  # type: ignore[call-arg]
    # The product's own "Open in GHL" link is on those domains and parses back to the deal.
    client = GHLClient(token="t", location_id="L1", base_url="http://127.0.0.1:9")
    try:
        url = client.opportunity_url("opp1")
    finally:
        client.close()
    assert parse_ghl_link(url, domains=domains) == GHLLink("opportunity", "L1", "opp1")


def test_every_emitted_action_and_callback_id_has_exactly_one_listener(app: App) -> None:
    for action_id in blocks.ACTION_IDS:
        assert len(_handlers(app, _action(action_id))) == 1, action_id
    for callback_id in blocks.CALLBACK_IDS:
        assert len(_handlers(app, _view(callback_id))) == 1, callback_id


def test_every_listener_handles_something_the_manifest_or_the_builders_emit(
    manifest: dict[str, Any], app: App
) -> None:
    probes = [_request(p) for p in _probes(manifest)]
    for listener in app._listeners:
        if listener.ack_function.__name__ in FALLBACKS:
            continue
        matched = [p for p in probes if listener.matches(req=p, resp=BoltResponse(status=200))]
        assert matched, f"{listener.ack_function.__name__} handles nothing we emit"


def test_the_catch_all_listeners_come_last(app: App) -> None:
    names = [listener.ack_function.__name__ for listener in app._listeners]
    assert set(names[-len(FALLBACKS) :]) == FALLBACKS
    assert len(_handlers(app, _action("old_button_from_v0"))) == 0


def _emitted_ids(value: Any) -> tuple[set[str], set[str]]:
    """Every action_id and callback_id inside built Block Kit."""
    actions: set[str] = set()
    callbacks: set[str] = set()
    if isinstance(value, dict):
        interactive = ("button", "static_select", "users_select")
        if isinstance(value.get("action_id"), str) and value.get("type") in interactive:
            actions.add(value["action_id"])
        if isinstance(value.get("callback_id"), str):
            callbacks.add(value["callback_id"])
        values = list(value.values())
    else:
        values = list(value) if isinstance(value, list | tuple) else []
    for item in values:
        more_actions, more_callbacks = _emitted_ids(item)
        actions |= more_actions
        callbacks |= more_callbacks
    return actions, callbacks


def test_the_declared_ids_are_exactly_what_the_builders_emit() -> None:
    card = DealCard(mls_id="M1", address="1 A St", score=93, hot=True,
                    opportunity_url="https://app.gohighlevel.com/x", opportunity_id="o1",
                    stages=("New", "Hot"), stage="Hot",
                    top_buyers=(BuyerLine("c1", "B", 90),))  # fmt: skip
    now = datetime(2027, 1, 15, tzinfo=UTC)
    entry = PlannedNotification(contact_id="c1", name="B", score=90, reasons=(),
                                group="send_now", code="ok", reason="ok")  # fmt: skip
    plan = NotifyPlan(mls_id="M1", planned_at=now, location_timezone=None, link="x",
                      entries=(entry,))  # fmt: skip
    built = [
        blocks.deal_card_blocks(card),
        blocks.notify_confirm_blocks(plan),
        blocks.add_result_blocks(
            action="created",
            mls_id="M1",
            reason="",
            stage="Hot",
            owner="Maria",
            tasks=[],
            url="https://x",
        ),
        blocks.add_form_view(private_metadata="{}"),
        note_form_view(mls_id="M1", channel_id=None),
        review_blocks(
            OptoutReview(id=1, dedupe_key="k", contact_id="c1", body="stop at 3?", decide_by=now),
            name="B",
        ),
        unfurl_blocks(card),
        home_view(HomeData(user_id="U1", role="agent", now=now, claimed=[card], hot=[card])),
    ]
    actions, callbacks = _emitted_ids(built)
    assert actions == set(blocks.ACTION_IDS)
    assert callbacks == set(blocks.CALLBACK_IDS)


def test_the_readme_names_the_manifests_scopes_events_and_the_domains_setting(
    manifest: dict[str, Any],
) -> None:
    root = MANIFEST.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    setup = readme[readme.index("**Setting up the Slack app.**") :][:900]
    for scope in manifest["oauth_config"]["scopes"]["bot"]:
        assert f"`{scope}`" in setup, scope
    for event in manifest["settings"]["event_subscriptions"]["bot_events"]:
        assert f"`{event}`" in setup, event
    assert "| `GHL_APP_DOMAINS` | `app.gohighlevel.com` |" in readme
    assert "GHL_APP_DOMAINS=" in (root / ".env.example").read_text(encoding="utf-8")
    for picture in ("docs/home-tab.png", "docs/link-unfurl.png"):
        assert f"]({picture})" in readme and (root / picture).is_file()
