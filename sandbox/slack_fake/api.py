"""Web API dispatch: method lookup, token check, required arguments, then the handler.

reply = dispatch(store, method="chat.postMessage", args={"channel": "C0DEALS"}, token=...)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from sandbox.slack_fake import api_chat, api_directory, api_home, api_links, api_views
from sandbox.slack_fake.elements import problem
from sandbox.slack_fake.replies import Handler, Reply, fail
from sandbox.slack_fake.spec import alternative_args, in_spec, required_args, required_scope
from sandbox.slack_fake.state import JSON
from sandbox.slack_fake.store import SlackStore

HANDLERS: dict[str, Handler] = {
    **api_chat.HANDLERS,
    **api_views.HANDLERS,
    **api_directory.HANDLERS,
    **api_links.HANDLERS,
    **api_home.HANDLERS,
}

NO_HANDLERS: Mapping[str, Handler] = MappingProxyType({})


def _missing(method: str, args: JSON) -> list[str]:
    missing = [name for name in required_args(method) if args.get(name) in (None, "")]
    # Some methods take another pair instead (chat.unfurl: unfurl_id + source); one is enough
    # to pass here, the handler checks the pair it was given.
    if missing and any(args.get(name) not in (None, "") for name in alternative_args(method)):
        return []
    return missing


# Methods that take the app-level token (xapp-...) and refuse a bot token; every other method
# refuses the app-level token (api.slack.com/authentication/token-types#app-level).
APP_LEVEL_METHODS = frozenset({"apps.connections.open"})
# Methods whose scope (read from the spec's "Requires scope") the fake enforces: the people
# look-ups, which a workspace may install without (users:read.email is a separate consent).
SCOPE_CHECKED = frozenset({"users.info", "users.lookupByEmail"})


def scope_problem(method: str, scopes: frozenset[str]) -> Reply | None:
    """Slack's `missing_scope` answer (with `needed` and `provided`) or None."""
    needed = required_scope(method) if method in SCOPE_CHECKED else None
    if needed is None or needed in scopes:
        return None
    return fail("missing_scope", needed=needed, provided=",".join(sorted(scopes)))


def token_problem(*, method: str, token: str | None, bot_token: str, app_token: str) -> str | None:
    """The error Slack answers for calling `method` with `token`, or None when it may."""
    if not token:
        return "not_authed"
    if token not in (bot_token, app_token):
        return "invalid_auth"
    if (token == app_token) != (method in APP_LEVEL_METHODS):
        return "not_allowed_token_type"
    return None


def dispatch(
    store: SlackStore,
    *,
    method: str,
    args: JSON,
    token: str | None,
    extra_handlers: Mapping[str, Handler] = NO_HANDLERS,
) -> Reply:
    """Answer one Web API call the way Slack would.

    `extra_handlers` answer methods whose state lives outside the store (Socket Mode's
    apps.connections.open lives with the fake's websocket).
    """
    handler = HANDLERS.get(method) or extra_handlers.get(method)
    if handler is None:
        why = "in Slack's API but not in the fake" if in_spec(method) else "not a Slack method"
        return fail("unknown_method", req_method=method, messages=[f"[ERROR] {method} is {why}"])
    config = store.config
    error = token_problem(
        method=method, token=token, bot_token=config.bot_token, app_token=config.app_token
    )
    if error is not None:
        return fail(error)
    refused = scope_problem(method, config.bot_scopes)
    if refused is not None:
        return refused
    missing = _missing(method, args)
    if missing:
        return fail(
            "invalid_arguments",
            messages=[problem(f"missing required field: {name}", "") for name in missing],
        )
    with store.lock:
        return handler(store, args)
