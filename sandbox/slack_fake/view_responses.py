"""What Slack does with an app's answer to a view_submission.

An empty 200 closes the submitted modal; `response_action` "errors" keeps it open with messages
under input blocks, "update" replaces it, "push" stacks a new one, "clear" closes them all
(https://api.slack.com/surfaces/modals#updating_response).
"""

from __future__ import annotations

import copy

from sandbox.slack_fake.blocks import view_problems
from sandbox.slack_fake.elements import problem
from sandbox.slack_fake.replies import Reply, fail, ok
from sandbox.slack_fake.state import JSON
from sandbox.slack_fake.store import SlackStore


def _errors_problems(view: JSON, errors: object) -> list[str]:
    if not isinstance(errors, dict) or not errors:
        return [problem("must provide an object of block_id: message", "/errors")]
    inputs = {b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"}
    problems = []
    for block_id, message in errors.items():
        where = f"/errors/{block_id}"
        if block_id not in inputs:
            # Slack can only show an error under an input block of the submitted view.
            problems.append(problem("block_id is not an input block of the view", where))
        elif not isinstance(message, str) or not message:
            problems.append(problem("must provide a string", where))
    return problems


def apply_view_response(
    store: SlackStore, *, user_id: str, view_id: str, body: JSON | None
) -> Reply:
    """Change the user's modal stack as Slack would for this answer; fail() if Slack refuses."""
    with store.lock:
        view = store.views.get(view_id)
        stack = store.view_stacks.get(user_id, [])
        if view is None or view_id not in stack:
            return fail("not_found")
        action = (body or {}).get("response_action")
        if action is None:
            stack.remove(view_id)
            return ok()
        assert body is not None
        if action == "errors":
            problems = _errors_problems(view, body.get("errors"))
            return fail("invalid_arguments", messages=problems) if problems else ok()
        if action == "clear":
            stack.clear()
            return ok()
        if action not in ("update", "push"):
            return fail("invalid_arguments", messages=[problem("unknown", "/response_action")])
        new_view = body.get("view")
        problems = view_problems(new_view)
        if problems:
            return fail("invalid_arguments", messages=problems)
        assert isinstance(new_view, dict)
        if action == "update":
            return ok(view=store.replace_view(view_id, new_view))
        if len(stack) >= store.config.max_view_stack:
            return fail("push_limit_reached")
        return ok(view=store.store_view(view=new_view, user_id=user_id, previous=stack[-1]))


def close_top_view(store: SlackStore, *, user_id: str, view_id: str) -> JSON | None:
    """The user dismissed their top modal: take it off the stack and return it (None if it is
    not the top one, as Slack only lets the visible modal be closed)."""
    with store.lock:
        stack = store.view_stacks.get(user_id, [])
        if not stack or stack[-1] != view_id:
            return None
        store.close_views(user_id, all_views=False)
        return copy.deepcopy(store.views[view_id])
