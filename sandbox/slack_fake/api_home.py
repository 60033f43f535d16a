"""views.publish: the app's Home tab for one user (api.slack.com/methods/views.publish).

The view must be a `home` view of at most 100 blocks (the message block rules apply to each),
JSON-encoded when sent as a form field; `user_id` must be a member of the workspace; a `hash`
that no longer matches the published view answers `hash_conflict` (Slack's optimistic lock).
Problems answer `invalid_arguments` with pointers into `/view`, as views.open does.
"""

from __future__ import annotations

import secrets

from sandbox.slack_fake.blocks import (
    VIEW_BLOCK_LIMIT,
    block_problems,
    parse_json_arg,
    with_generated_ids,
)
from sandbox.slack_fake.elements import MAX_ID_CHARS, problem, string_field
from sandbox.slack_fake.replies import Handler, Reply, fail, ok
from sandbox.slack_fake.state import JSON
from sandbox.slack_fake.store import SlackStore


def home_view_problems(view: object, *, pointer: str = "/view") -> list[str]:
    """Problems of a Home tab view as views.publish receives it."""
    if not isinstance(view, dict):
        return [problem("must provide an object", pointer)]
    if view.get("type") != "home":
        return [problem("must be a valid enum value", f"{pointer}/type")]
    problems: list[str] = []
    for key in ("callback_id", "external_id"):
        problems += string_field(view, key, pointer, max_len=MAX_ID_CHARS)
    problems += string_field(view, "private_metadata", pointer, max_len=3000)
    if "blocks" not in view:
        return [*problems, problem("missing required field: blocks", pointer)]
    return problems + block_problems(
        view["blocks"], limit=VIEW_BLOCK_LIMIT, pointer=f"{pointer}/blocks"
    )


def views_publish(store: SlackStore, args: JSON) -> Reply:
    user = store.workspace.users.get(str(args["user_id"]))
    if user is None or user.is_bot:
        return fail("user_not_found")
    try:
        view = parse_json_arg(args["view"])
    except ValueError:
        return fail("invalid_arguments", messages=[problem("invalid JSON", "/view")])
    problems = home_view_problems(view)
    if problems:
        return fail("invalid_arguments", messages=problems)
    assert isinstance(view, dict)
    current = store.home_views.get(user.id)
    if args.get("hash") and (current is None or args["hash"] != current["hash"]):
        return fail("hash_conflict")
    view_id = current["id"] if current else store.new_id("V")
    published = {
        "id": view_id,
        "team_id": store.config.team_id,
        "type": "home",
        "blocks": with_generated_ids(view["blocks"]),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "external_id": view.get("external_id", ""),
        "state": {"values": {}},
        "hash": f"{int(store.clock())}.{secrets.token_hex(4)}",
        "root_view_id": view_id,
        "previous_view_id": None,
        "app_id": store.config.app_id,
        "app_installed_team_id": store.config.team_id,
        "bot_id": store.config.bot_id,
    }
    store.home_views[user.id] = published
    return ok(view=published)


HANDLERS: dict[str, Handler] = {"views.publish": views_publish}
