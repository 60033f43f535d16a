"""Block Kit composition objects and interactive elements, checked against Slack's limits.

Every check returns Slack's own problem lines, "[ERROR] <what> [json-pointer:<where>]", which
the fake puts in `response_metadata.messages` the way the Web API does.

    text_object({"type": "plain_text", "text": ""}, "/blocks/0/text", max_len=150)
    # ['[ERROR] must be more than 0 characters [json-pointer:/blocks/0/text/text]']
"""

from __future__ import annotations

from collections.abc import Callable

MAX_ID_CHARS = 255  # action_id, block_id, callback_id, external_id

# Where each element may appear (https://docs.slack.dev/reference/block-kit/block-elements).
SELECTS = {
    "static_select", "external_select", "users_select", "conversations_select",
    "channels_select", "multi_static_select", "multi_external_select", "multi_users_select",
    "multi_conversations_select", "multi_channels_select",
}  # fmt: skip
PICKERS = {"datepicker", "timepicker", "datetimepicker"}
CHOICES = {"checkboxes", "radio_buttons"}
TEXT_INPUTS = {"plain_text_input", "number_input", "email_text_input", "url_text_input"}
_SHARED = SELECTS | PICKERS | CHOICES
ACTIONS_ELEMENTS = _SHARED | {"button", "overflow", "workflow_button", "rich_text_input"}
ACCESSORY_ELEMENTS = _SHARED | {"button", "overflow", "workflow_button", "image"}
INPUT_ELEMENTS = _SHARED | TEXT_INPUTS | {"file_input", "rich_text_input"}


def problem(what: str, pointer: str) -> str:
    """One problem line in Slack's format; argument-level problems have no pointer."""
    return f"[ERROR] {what} [json-pointer:{pointer}]" if pointer else f"[ERROR] {what}"


def string_field(
    obj: dict, key: str, pointer: str, *, max_len: int, required: bool = False
) -> list[str]:
    """A string property no longer than `max_len` (and present, when `required`)."""
    if key not in obj:
        return [problem(f"missing required field: {key}", pointer)] if required else []
    value = obj[key]
    where = f"{pointer}/{key}"
    if not isinstance(value, str):
        return [problem("must provide a string", where)]
    if required and not value:
        return [problem("must be more than 0 characters", where)]
    if len(value) > max_len:
        return [problem(f"must be less than {max_len + 1} characters", where)]
    return []


def text_object(obj: object, pointer: str, *, max_len: int, plain_only: bool = False) -> list[str]:
    """A `plain_text` or `mrkdwn` text object whose text is 1..max_len characters."""
    if not isinstance(obj, dict):
        return [problem("must provide an object", pointer)]
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if obj.get("type") not in allowed:
        return [problem("must be a valid enum value", f"{pointer}/type")]
    return string_field(obj, "text", pointer, max_len=max_len, required=True)


def optional_text(
    obj: dict, key: str, pointer: str, *, max_len: int, plain_only: bool = True
) -> list[str]:
    """A text object that may be absent."""
    if key not in obj:
        return []
    return text_object(obj[key], f"{pointer}/{key}", max_len=max_len, plain_only=plain_only)


def _options(options: object, pointer: str, *, max_items: int, plain_only: bool) -> list[str]:
    if not isinstance(options, list):
        return [problem("must provide an array", pointer)]
    if not options:
        return [problem("must provide at least 1 items", pointer)]
    if len(options) > max_items:
        return [problem(f"no more than {max_items} items allowed", pointer)]
    problems: list[str] = []
    for index, option in enumerate(options):
        where = f"{pointer}/{index}"
        if not isinstance(option, dict):
            problems.append(problem("must provide an object", where))
            continue
        if "text" not in option:
            problems.append(problem("missing required field: text", where))
        else:
            problems += text_object(
                option["text"], f"{where}/text", max_len=75, plain_only=plain_only
            )
        problems += string_field(option, "value", where, max_len=150, required=True)
        problems += optional_text(option, "description", where, max_len=75, plain_only=False)
    return problems


def confirm_object(element: dict, pointer: str) -> list[str]:
    """Block Kit's `confirm` dialog: title, text, confirm and deny, all required."""
    if "confirm" not in element:
        return []
    dialog, where = element["confirm"], f"{pointer}/confirm"
    if not isinstance(dialog, dict):
        return [problem("must be an object", where)]
    problems = []
    for name, limit, plain in (("title", 100, True), ("text", 300, False),
                               ("confirm", 30, True), ("deny", 30, True)):  # fmt: skip
        if name not in dialog:
            problems.append(problem(f"missing required field: {name}", where))
        else:
            problems += text_object(dialog[name], f"{where}/{name}", max_len=limit,
                                    plain_only=plain)  # fmt: skip
    if "style" in dialog and dialog["style"] not in ("primary", "danger"):
        problems.append(problem("must be a valid enum value", f"{where}/style"))
    return problems


def _button(element: dict, pointer: str) -> list[str]:
    problems = confirm_object(element, pointer)
    if "text" not in element:
        problems.append(problem("missing required field: text", pointer))
    else:
        problems += text_object(element["text"], f"{pointer}/text", max_len=75, plain_only=True)
    problems += string_field(element, "value", pointer, max_len=2000)
    problems += string_field(element, "url", pointer, max_len=3000)
    if "style" in element and element["style"] not in ("primary", "danger"):
        problems.append(problem("must be a valid enum value", f"{pointer}/style"))
    return problems


def _select(element: dict, pointer: str) -> list[str]:
    problems = optional_text(element, "placeholder", pointer, max_len=150)
    problems += confirm_object(element, pointer)
    if element["type"] in ("static_select", "multi_static_select"):
        if "options" in element:
            problems += _options(
                element["options"], f"{pointer}/options", max_items=100, plain_only=True
            )
        elif "option_groups" not in element:
            problems.append(problem("must provide either options or option_groups", pointer))
    return problems


def _choices(element: dict, pointer: str) -> list[str]:
    if "options" not in element:
        return [problem("missing required field: options", pointer)]
    return _options(element["options"], f"{pointer}/options", max_items=10, plain_only=False)


def _overflow(element: dict, pointer: str) -> list[str]:
    if "options" not in element:
        return [problem("missing required field: options", pointer)]
    return _options(element["options"], f"{pointer}/options", max_items=5, plain_only=True)


def _text_input(element: dict, pointer: str) -> list[str]:
    problems = optional_text(element, "placeholder", pointer, max_len=150)
    for key in ("min_length", "max_length"):
        value = element.get(key, 0)
        if not isinstance(value, int) or not 0 <= value <= 3000:
            problems.append(problem("must be an integer between 0 and 3000", f"{pointer}/{key}"))
    if element["type"] == "number_input" and "is_decimal_allowed" not in element:
        problems.append(problem("missing required field: is_decimal_allowed", pointer))
    return problems


def image_element(element: dict, pointer: str) -> list[str]:
    """An image inside a context block or as a section accessory."""
    problems = string_field(element, "alt_text", pointer, max_len=2000, required=True)
    if "image_url" not in element and "slack_file" not in element:
        problems.append(problem("must provide either image_url or slack_file", pointer))
    return problems + string_field(element, "image_url", pointer, max_len=3000)


def _placeholder_only(element: dict, pointer: str) -> list[str]:
    return optional_text(element, "placeholder", pointer, max_len=150)


def _no_more_checks(element: dict, pointer: str) -> list[str]:
    return []


_CHECKS: dict[str, Callable[[dict, str], list[str]]] = {
    "button": _button,
    "workflow_button": _button,
    "overflow": _overflow,
    "image": image_element,
    "file_input": _no_more_checks,
    "rich_text_input": _placeholder_only,
    **{name: _select for name in SELECTS},
    **{name: _placeholder_only for name in PICKERS},
    **{name: _choices for name in CHOICES},
    **{name: _text_input for name in TEXT_INPUTS},
}


def element(obj: object, pointer: str, *, allowed: set[str]) -> list[str]:
    """An element in a place that accepts the types in `allowed`."""
    if not isinstance(obj, dict):
        return [problem("must provide an object", pointer)]
    kind = obj.get("type")
    if kind not in allowed:
        return [problem(f"unsupported type: {kind}", f"{pointer}/type")]
    problems = []
    if kind != "image":
        problems += string_field(obj, "action_id", pointer, max_len=MAX_ID_CHARS)
    return problems + _CHECKS[kind](obj, pointer)
