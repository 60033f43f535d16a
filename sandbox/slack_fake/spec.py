"""Required arguments of each Web API method, read from Slack's vendored OpenAPI 2.0 file.

required_args("chat.postMessage")   # ("channel",)
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

SPEC_PATH = Path(__file__).with_name("slack_web_openapi_v2.json")

# The vendored file is old and leaves these unmarked, but Slack's method pages list them as
# required and the live API answers invalid_arguments without them.
_REQUIRED_BEYOND_SPEC: dict[str, tuple[str, ...]] = {
    "chat.delete": ("channel", "ts"),
    "conversations.info": ("channel",),
    "conversations.join": ("channel",),
    "conversations.history": ("channel",),
    "conversations.replies": ("channel", "ts"),
    "users.info": ("user",),
    "views.update": ("view",),
}


# Arguments that replace the spec's required ones: since 2021 chat.unfurl takes `unfurl_id` and
# `source` instead of `channel` and `ts` (api.slack.com/changelog/2021-08-changes-to-unfurls).
_ALTERNATIVES: dict[str, tuple[str, ...]] = {"chat.unfurl": ("unfurl_id", "source")}


def alternative_args(method: str) -> tuple[str, ...]:
    """Arguments that may stand in for `method`'s required ones (the handler checks them)."""
    return _ALTERNATIVES.get(method, ())


@cache
def _spec_paths() -> dict[str, dict]:
    with SPEC_PATH.open(encoding="utf-8") as handle:
        return json.load(handle)["paths"]


@cache
def required_args(method: str) -> tuple[str, ...]:
    """The arguments `method` cannot do without, token excepted (checked on its own)."""
    operations = _spec_paths().get("/" + method, {})
    names: list[str] = []
    for operation in operations.values():
        for parameter in operation.get("parameters", []):
            name = parameter["name"]
            if parameter.get("required") and name != "token" and name not in names:
                names.append(name)
    for name in _REQUIRED_BEYOND_SPEC.get(method, ()):
        if name not in names:
            names.append(name)
    return tuple(names)


def in_spec(method: str) -> bool:
    """Whether Slack's OpenAPI file knows `method` at all."""
    return "/" + method in _spec_paths()


_SCOPE = re.compile(r"Requires scope: `([^`]+)`")


@cache
def required_scope(method: str) -> str | None:
    """The scope the spec's token parameter says `method` needs ("Requires scope: `x`")."""
    for operation in _spec_paths().get("/" + method, {}).values():
        for parameter in operation.get("parameters", []):
            if parameter["name"] == "token":
                found = _SCOPE.search(parameter.get("description") or "")
                if found:
                    return found.group(1)
    return None
