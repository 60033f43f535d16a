"""The payloads Slack sends an app, built the way Slack builds them (pure functions).

Shapes follow Slack's interaction payload reference and bolt-python's scenario tests
(tests/scenario_tests/test_slash_command.py, test_block_actions.py, test_view_submission.py).

    form = slash_command_form(config=config, command="/deal", text="list", user=user,
                              channel=channel, response_url=url, trigger_id=trigger_id)
"""

from __future__ import annotations

import copy
from urllib.parse import urlencode

from sandbox.slack_fake.config import FakeConfig
from sandbox.slack_fake.state import JSON, Channel, Message, User


def _team(config: FakeConfig) -> JSON:
    return {"id": config.team_id, "domain": config.team_domain}


def _user(config: FakeConfig, user: User) -> JSON:
    return {"id": user.id, "username": user.name, "name": user.name, "team_id": config.team_id}


def _channel_name(channel: Channel) -> str:
    return "directmessage" if channel.im_user is not None else channel.name


def slash_command_form(
    *,
    config: FakeConfig,
    command: str,
    text: str,
    user: User,
    channel: Channel,
    response_url: str,
    trigger_id: str,
) -> dict[str, str]:
    """The form fields of a slash command request, in the order Slack sends them."""
    return {
        "token": config.verification_token,
        "team_id": config.team_id,
        "team_domain": config.team_domain,
        "channel_id": channel.id,
        "channel_name": _channel_name(channel),
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": config.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def form_body(fields: dict[str, str]) -> bytes:
    """application/x-www-form-urlencoded bytes, as Slack encodes them."""
    return urlencode(fields).encode()


def block_actions_payload(
    *,
    config: FakeConfig,
    user: User,
    channel: Channel,
    message: Message,
    action: JSON,
    response_url: str,
    trigger_id: str,
) -> JSON:
    """A `block_actions` payload for an element clicked in a message."""
    container: JSON = {
        "type": "message",
        "message_ts": message.ts,
        "channel_id": channel.id,
        "is_ephemeral": message.is_ephemeral,
    }
    if message.thread_ts is not None:
        container["thread_ts"] = message.thread_ts
    payload: JSON = {
        "type": "block_actions",
        "user": _user(config, user),
        "api_app_id": config.app_id,
        "token": config.verification_token,
        "container": container,
        "trigger_id": trigger_id,
        "team": _team(config),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel.id, "name": _channel_name(channel)},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }
    if not message.is_ephemeral:
        # Slack leaves the message out for ephemerals: the app is assumed to remember it.
        payload["message"] = message.to_slack(team_id=config.team_id, app_id=config.app_id)
    return payload


def button_action(*, element: JSON, block_id: str, action_ts: str) -> JSON:
    """The `actions[0]` entry for a clicked button."""
    action: JSON = {
        "action_id": element["action_id"],
        "block_id": block_id,
        "text": copy.deepcopy(element["text"]),
        "type": "button",
        "action_ts": action_ts,
    }
    for key in ("value", "style", "url"):
        if key in element:
            action[key] = element[key]
    return action


def select_action(*, element: JSON, block_id: str, action_ts: str, choice: str) -> JSON:
    """The `actions[0]` entry for a choice in a `static_select` (an option's value) or a
    `users_select` (a user id), as Slack sends it."""
    action: JSON = {
        "action_id": element["action_id"],
        "block_id": block_id,
        "type": element["type"],
        "action_ts": action_ts,
    }
    if element["type"] == "users_select":
        action["selected_user"] = choice
        return action
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    option = next((o for o in options if o.get("value") == choice), None)
    if option is None:
        raise ValueError(f"{choice!r} is not an option of {element['action_id']!r}")
    action["selected_option"] = copy.deepcopy(option)
    if "placeholder" in element:
        action["placeholder"] = copy.deepcopy(element["placeholder"])
    return action


def view_submission_payload(
    *, config: FakeConfig, user: User, view: JSON, state_values: JSON, trigger_id: str
) -> JSON:
    """A `view_submission` payload for a modal with the user's inputs in `state.values`."""
    submitted = copy.deepcopy(view)
    submitted["state"] = {"values": state_values}
    return {
        "type": "view_submission",
        "team": _team(config),
        "user": _user(config, user),
        "api_app_id": config.app_id,
        "token": config.verification_token,
        "trigger_id": trigger_id,
        "view": submitted,
        "response_urls": [],
        "enterprise": None,
        "is_enterprise_install": False,
    }


def view_closed_payload(*, config: FakeConfig, user: User, view: JSON) -> JSON:
    """A `view_closed` payload: the user dismissed a modal that asked for `notify_on_close`."""
    return {
        "type": "view_closed",
        "team": _team(config),
        "user": _user(config, user),
        "api_app_id": config.app_id,
        "token": config.verification_token,
        "view": copy.deepcopy(view),
        "is_cleared": False,
        "enterprise": None,
        "is_enterprise_install": False,
    }


def shortcut_payload(
    *, config: FakeConfig, user: User, callback_id: str, trigger_id: str, action_ts: str
) -> JSON:
    """A global `shortcut` payload (from the lightning-bolt menu or search)."""
    return {
        "type": "shortcut",
        "token": config.verification_token,
        "action_ts": action_ts,
        "team": _team(config),
        "user": _user(config, user),
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id,
    }
