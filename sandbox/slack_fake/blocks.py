"""Block Kit validation: the limits Slack enforces on messages (50 blocks) and views (100).

Each function returns Slack's problem lines ("[ERROR] ... [json-pointer:...]"); an empty list
means Slack would accept the payload.

    message_block_problems([{"type": "divider"}] * 51)
    # ['[ERROR] no more than 50 items allowed [json-pointer:/blocks]']
"""

from __future__ import annotations

import copy
import json
import secrets
import string
from collections.abc import Callable

from sandbox.slack_fake.elements import (
    ACCESSORY_ELEMENTS,
    ACTIONS_ELEMENTS,
    INPUT_ELEMENTS,
    MAX_ID_CHARS,
    element,
    image_element,
    optional_text,
    problem,
    string_field,
    text_object,
)
from sandbox.slack_fake.state import JSON

MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100


def _section(block: dict, pointer: str) -> list[str]:
    if "text" not in block and "fields" not in block:
        return [problem("must provide either text or fields", pointer)]
    problems: list[str] = []
    if "text" in block:
        problems += text_object(block["text"], f"{pointer}/text", max_len=3000)
    if "fields" in block:
        fields = block["fields"]
        if not isinstance(fields, list):
            problems.append(problem("must provide an array", f"{pointer}/fields"))
        elif len(fields) > 10:
            problems.append(problem("no more than 10 items allowed", f"{pointer}/fields"))
        else:
            for index, field in enumerate(fields):
                problems += text_object(field, f"{pointer}/fields/{index}", max_len=2000)
    if "accessory" in block:
        problems += element(block["accessory"], f"{pointer}/accessory", allowed=ACCESSORY_ELEMENTS)
    return problems


def _header(block: dict, pointer: str) -> list[str]:
    if "text" not in block:
        return [problem("missing required field: text", pointer)]
    return text_object(block["text"], f"{pointer}/text", max_len=150, plain_only=True)


def _element_list(
    block: dict, pointer: str, *, max_items: int, check: Callable[[object, str], list[str]]
) -> list[str]:
    elements = block.get("elements")
    where = f"{pointer}/elements"
    if elements is None:
        return [problem("missing required field: elements", pointer)]
    if not isinstance(elements, list):
        return [problem("must provide an array", where)]
    if not elements:
        return [problem("must provide at least 1 items", where)]
    if len(elements) > max_items:
        return [problem(f"no more than {max_items} items allowed", where)]
    problems: list[str] = []
    action_ids: set[str] = set()
    for index, item in enumerate(elements):
        problems += check(item, f"{where}/{index}")
        action_id = item.get("action_id") if isinstance(item, dict) else None
        if action_id is not None:
            # Slack needs action_ids unique within their block to tell the elements apart.
            if action_id in action_ids:
                problems.append(problem("duplicate action_id", f"{where}/{index}/action_id"))
            action_ids.add(action_id)
    return problems


def _actions(block: dict, pointer: str) -> list[str]:
    def check(item: object, where: str) -> list[str]:
        return element(item, where, allowed=ACTIONS_ELEMENTS)

    return _element_list(block, pointer, max_items=25, check=check)


def _context(block: dict, pointer: str) -> list[str]:
    def check(item: object, where: str) -> list[str]:
        if isinstance(item, dict) and item.get("type") == "image":
            return image_element(item, where)
        return text_object(item, where, max_len=3000)

    return _element_list(block, pointer, max_items=10, check=check)


def _input(block: dict, pointer: str) -> list[str]:
    problems: list[str] = []
    if "label" not in block:
        problems.append(problem("missing required field: label", pointer))
    else:
        problems += text_object(block["label"], f"{pointer}/label", max_len=2000, plain_only=True)
    if "element" not in block:
        problems.append(problem("missing required field: element", pointer))
    else:
        problems += element(block["element"], f"{pointer}/element", allowed=INPUT_ELEMENTS)
    return problems + optional_text(block, "hint", pointer, max_len=2000)


def _image(block: dict, pointer: str) -> list[str]:
    return image_element(block, pointer) + optional_text(block, "title", pointer, max_len=2000)


def _needs(*keys: str) -> Callable[[dict, str], list[str]]:
    def check(block: dict, pointer: str) -> list[str]:
        return [problem(f"missing required field: {k}", pointer) for k in keys if k not in block]

    return check


def _markdown(block: dict, pointer: str) -> list[str]:
    return string_field(block, "text", pointer, max_len=12_000, required=True)


_BLOCKS: dict[str, Callable[[dict, str], list[str]]] = {
    "section": _section,
    "header": _header,
    "actions": _actions,
    "context": _context,
    "divider": _needs(),
    "input": _input,
    "image": _image,
    "markdown": _markdown,
    "rich_text": _needs("elements"),
    "file": _needs("external_id", "source"),
    "video": _needs("alt_text", "title", "thumbnail_url", "video_url"),
}


def parse_json_arg(value: object) -> object:
    """`blocks`/`view` as sent: a list/dict in JSON bodies, a JSON string in form bodies.

    Raises ValueError when a form value is not JSON (Slack answers invalid_blocks_format).
    """
    if isinstance(value, str):
        return json.loads(value)
    return value


def block_problems(blocks: object, *, limit: int, pointer: str = "/blocks") -> list[str]:
    """Problems of a list of blocks holding at most `limit` blocks."""
    if not isinstance(blocks, list):
        return [problem("must provide an array", pointer)]
    if len(blocks) > limit:
        return [problem(f"no more than {limit} items allowed", pointer)]
    problems: list[str] = []
    block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        where = f"{pointer}/{index}"
        if not isinstance(block, dict):
            problems.append(problem("must provide an object", where))
            continue
        kind = block.get("type")
        if kind not in _BLOCKS:
            problems.append(problem(f"unsupported type: {kind}", f"{where}/type"))
            continue
        problems += string_field(block, "block_id", where, max_len=MAX_ID_CHARS)
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in block_ids:
                problems.append(problem("duplicate block_id", f"{where}/block_id"))
            block_ids.add(block_id)
        problems += _BLOCKS[kind](block, where)
    return problems


def message_block_problems(blocks: object) -> list[str]:
    """Problems of a message's `blocks` (chat.postMessage, chat.update, response_url)."""
    return block_problems(blocks, limit=MESSAGE_BLOCK_LIMIT)


def view_problems(view: object, *, pointer: str = "/view") -> list[str]:
    """Problems of a modal as views.open/push/update receive it."""
    if not isinstance(view, dict):
        return [problem("must provide an object", pointer)]
    if view.get("type") != "modal":
        return [problem("must be a valid enum value", f"{pointer}/type")]
    problems: list[str] = []
    if "title" not in view:
        problems.append(problem("missing required field: title", pointer))
    else:
        problems += text_object(view["title"], f"{pointer}/title", max_len=24, plain_only=True)
    for key in ("submit", "close"):
        problems += optional_text(view, key, pointer, max_len=24)
    for key in ("callback_id", "external_id"):
        problems += string_field(view, key, pointer, max_len=MAX_ID_CHARS)
    problems += string_field(view, "private_metadata", pointer, max_len=3000)
    if "blocks" not in view:
        return [*problems, problem("missing required field: blocks", pointer)]
    blocks = view["blocks"]
    problems += block_problems(blocks, limit=VIEW_BLOCK_LIMIT, pointer=f"{pointer}/blocks")
    has_input = isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "input" for b in blocks
    )
    if has_input and "submit" not in view:
        # A modal with inputs and no submit button could never be submitted; Slack refuses it.
        problems.append(problem("must provide submit when using input blocks", pointer))
    return problems


def _generated_id() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(5))


def with_generated_ids(blocks: list[JSON]) -> list[JSON]:
    """A copy of valid blocks in which every block and element has an id, as Slack stores them.

    Slack fills in a random `block_id` and `action_id` where the app left them out, and
    interaction payloads carry those generated ids.
    """
    stored = copy.deepcopy(blocks)
    for block in stored:
        block.setdefault("block_id", _generated_id())
        elements = list(block.get("elements", [])) if block["type"] == "actions" else []
        elements += [block[key] for key in ("accessory", "element") if key in block]
        for item in elements:
            if isinstance(item, dict) and item.get("type") != "image":
                item.setdefault("action_id", _generated_id())
    return stored
