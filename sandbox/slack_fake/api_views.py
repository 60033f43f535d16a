"""The views.* methods: open, push and update modals, with trigger_id rules.

A trigger_id opens one view, within 3 seconds of the interaction that carried it; Slack keeps
at most three modals in a stack.
"""

from __future__ import annotations

from sandbox.slack_fake.blocks import parse_json_arg, view_problems
from sandbox.slack_fake.elements import problem
from sandbox.slack_fake.policies import trigger_problem
from sandbox.slack_fake.replies import Handler, Reply, fail, ok
from sandbox.slack_fake.state import JSON, TriggerId
from sandbox.slack_fake.store import SlackStore


def _valid_view(args: JSON) -> JSON | Reply:
    try:
        view = parse_json_arg(args["view"])
    except ValueError:
        return fail("invalid_arguments", messages=[problem("invalid JSON", "/view")])
    problems = view_problems(view)
    if problems:
        # Views answer invalid_arguments (not invalid_blocks), pointing into /view/blocks/...
        return fail("invalid_arguments", messages=problems)
    assert isinstance(view, dict)
    return view


def _usable_trigger(store: SlackStore, trigger_id: str) -> TriggerId | Reply:
    trigger = store.triggers.get(trigger_id)
    error = trigger_problem(
        issued_at=trigger.issued_at if trigger else None,
        exchanged=trigger.exchanged if trigger else False,
        now=store.clock(),
        ttl=store.config.trigger_id_ttl_seconds,
    )
    if error is not None or trigger is None:
        return fail(error or "expired_trigger_id")
    return trigger


def _external_id_taken(store: SlackStore, view: JSON, *, except_id: str | None = None) -> bool:
    external_id = view.get("external_id")
    if not external_id:
        return False
    return any(
        v["external_id"] == external_id and v["id"] != except_id for v in store.views.values()
    )


def _open_or_push(store: SlackStore, args: JSON, *, push: bool) -> Reply:
    trigger = _usable_trigger(store, args["trigger_id"])
    if isinstance(trigger, Reply):
        return trigger
    view = _valid_view(args)
    if isinstance(view, Reply):
        return view
    if _external_id_taken(store, view):
        return fail("duplicate_external_id")
    stack = store.view_stacks.setdefault(trigger.user_id, [])
    if push:
        if not stack:
            return fail("not_found")
        if len(stack) >= store.config.max_view_stack:
            return fail("push_limit_reached")
    else:
        stack.clear()  # views.open starts a new modal stack for the user
    trigger.exchanged = True
    stored = store.store_view(
        view=view, user_id=trigger.user_id, previous=stack[-1] if stack else None
    )
    return ok(view=stored)


def views_open(store: SlackStore, args: JSON) -> Reply:
    return _open_or_push(store, args, push=False)


def views_push(store: SlackStore, args: JSON) -> Reply:
    return _open_or_push(store, args, push=True)


def views_update(store: SlackStore, args: JSON) -> Reply:
    view_id = args.get("view_id")
    external_id = args.get("external_id")
    if not view_id and not external_id:
        return fail(
            "invalid_arguments",
            messages=[problem("missing required field: view_id or external_id", "")],
        )
    if not view_id:
        view_id = next(
            (v["id"] for v in store.views.values() if v["external_id"] == external_id), None
        )
    current = store.views.get(view_id or "")
    if current is None or store.view_owner(current["id"]) is None:
        return fail("not_found")
    if args.get("hash") and args["hash"] != current["hash"]:
        # Slack's optimistic lock: the view changed since the caller last saw it.
        return fail("hash_conflict")
    view = _valid_view(args)
    if isinstance(view, Reply):
        return view
    if _external_id_taken(store, view, except_id=current["id"]):
        return fail("duplicate_external_id")
    return ok(view=store.replace_view(current["id"], view))


HANDLERS: dict[str, Handler] = {
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
}
