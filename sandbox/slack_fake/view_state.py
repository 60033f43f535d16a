"""What Slack's client puts in `view.state.values` when a user submits a modal.

The client refuses to submit a modal with an empty required input or a value outside an input's
length limits, so `state_values` raises ValueError for those: a test asking for them is asking
for something Slack never sends.

    state_values(view, {"price": {"price_input": "250000"}})
    # {"price": {"price_input": {"type": "plain_text_input", "value": "250000"}}}
"""

from __future__ import annotations

from typing import Any

from sandbox.slack_fake.state import JSON

_SINGLE_VALUE = {
    "plain_text_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "number_input": "value",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
    "users_select": "selected_user",
    "conversations_select": "selected_conversation",
    "channels_select": "selected_channel",
}
_MULTI_VALUE = {
    "multi_users_select": "selected_users",
    "multi_conversations_select": "selected_conversations",
    "multi_channels_select": "selected_channels",
}
_ONE_OPTION = {"static_select", "external_select", "radio_buttons"}
_MANY_OPTIONS = {"multi_static_select", "multi_external_select", "checkboxes"}


def _all_options(element: JSON) -> list[JSON]:
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options += group.get("options", [])
    return options


def _option(element: JSON, value: str) -> JSON:
    if element["type"] in ("external_select", "multi_external_select"):
        return {"text": {"type": "plain_text", "text": value}, "value": value}
    for option in _all_options(element):
        if option.get("value") == value:
            return option
    raise ValueError(f"{element['action_id']!r} has no option with value {value!r}")


def _check_length(element: JSON, value: str) -> None:
    limit = element.get("max_length")
    if limit is not None and len(value) > limit:
        raise ValueError(f"{element['action_id']!r} accepts at most {limit} characters")
    if len(value) < element.get("min_length", 0):
        raise ValueError(f"{element['action_id']!r} needs {element['min_length']} characters")


def element_state(element: JSON, value: Any) -> JSON:
    """One input's entry in state.values; `value` None means the user left it empty."""
    kind = element["type"]
    if isinstance(value, dict):
        return {"type": kind, **value}  # the caller spelled out Slack's shape itself
    if kind in _SINGLE_VALUE:
        if value is not None and kind in ("plain_text_input", "email_text_input"):
            _check_length(element, str(value))
        return {"type": kind, _SINGLE_VALUE[kind]: value}
    if kind in _MULTI_VALUE:
        return {"type": kind, _MULTI_VALUE[kind]: list(value or [])}
    if kind in _ONE_OPTION:
        return {"type": kind, "selected_option": None if value is None else _option(element, value)}
    if kind in _MANY_OPTIONS:
        return {"type": kind, "selected_options": [_option(element, v) for v in (value or [])]}
    raise ValueError(f"the driver cannot fill a {kind!r}; pass Slack's state shape as a dict")


def state_values(view: JSON, values: dict[str, dict[str, Any]]) -> JSON:
    """`view.state.values` for a submission of `view` with `values[block_id][action_id]`."""
    inputs = {
        block["block_id"]: block
        for block in view.get("blocks", [])
        if block.get("type") == "input" and "block_id" in block
    }
    unknown = set(values) - set(inputs)
    if unknown:
        raise ValueError(f"the view has no input blocks {sorted(unknown)}")
    state: JSON = {}
    for block_id, block in inputs.items():
        element = block["element"]
        given = values.get(block_id, {})
        if set(given) - {element["action_id"]}:
            raise ValueError(f"block {block_id!r} has only action_id {element['action_id']!r}")
        value = given.get(element["action_id"])
        if value in (None, "", []) and not block.get("optional", False):
            raise ValueError(f"Slack would not submit: input {block_id!r} is required")
        state[block_id] = {element["action_id"]: element_state(element, value)}
    return state


def find_element(blocks: list[JSON], action_id: str) -> tuple[JSON, str]:
    """The interactive element with `action_id` in message blocks, and its block's id."""
    for block in blocks:
        candidates = list(block.get("elements", [])) if block.get("type") == "actions" else []
        if "accessory" in block:
            candidates.append(block["accessory"])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element, block["block_id"]
    raise ValueError(f"no element with action_id {action_id!r} in the message")
