"""Web API dispatch: method lookup, token check, required arguments, then the handler.

reply = dispatch(store, method="chat.postMessage", args={"channel": "C0DEALS"}, token=...)
"""

from __future__ import annotations

from bot.slack_fake import api_chat, api_directory, api_views
from bot.slack_fake.elements import problem
from bot.slack_fake.replies import Handler, Reply, fail
from bot.slack_fake.spec import in_spec, required_args
from bot.slack_fake.state import JSON
from bot.slack_fake.store import SlackStore

HANDLERS: dict[str, Handler] = {
    **api_chat.HANDLERS,
    **api_views.HANDLERS,
    **api_directory.HANDLERS,
}


def _missing(method: str, args: JSON) -> list[str]:
    return [name for name in required_args(method) if args.get(name) in (None, "")]


def dispatch(store: SlackStore, *, method: str, args: JSON, token: str | None) -> Reply:
    """Answer one Web API call the way Slack would."""
    handler = HANDLERS.get(method)
    if handler is None:
        why = "in Slack's API but not in the fake" if in_spec(method) else "not a Slack method"
        return fail("unknown_method", req_method=method, messages=[f"[ERROR] {method} is {why}"])
    if not token:
        return fail("not_authed")
    if token == store.config.app_token:
        # App-level tokens only open Socket Mode connections; Web API methods refuse them.
        return fail("not_allowed_token_type")
    if token != store.config.bot_token:
        return fail("invalid_auth")
    missing = _missing(method, args)
    if missing:
        return fail(
            "invalid_arguments",
            messages=[problem(f"missing required field: {name}", "") for name in missing],
        )
    with store.lock:
        return handler(store, args)
