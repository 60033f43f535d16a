"""What every listener shares: the injected services, the caller, permission checks, and the
guard that turns a failure after the ack into a message for the user.

Bolt runs lazy listeners on a copy of the request's context (`copy.deepcopy`); the services
object copies as itself, so every thread shares one GHL client, engine and pipeline.

    def show(turn: Turn) -> None:                          # the work after the ack
        turn.say("…")
    app.command("/deal")(ack=ack_command, lazy=[guarded(show, permission="deal.show")])
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient

from bot.slack import messages as msg
from bot.slack.blocks import text_blocks
from bot.slack.listeners.authz import Permission, recheck
from bot.slack.replies import PrivateReply
from bot.slack.roles import Role, allowed, required_role
from ghl.errors import GHLError
from services.ghl_map import GHLMapError
from store.db import session_scope
from store.state import latest_health_check

if TYPE_CHECKING:
    from bot.slack.app import BotServices

log = logging.getLogger("dealfinder.bot")

Lazy = Callable[..., None]


@dataclass
class Turn:
    """One user's request, as the lazy part of a listener sees it."""

    services: BotServices
    client: WebClient
    respond: Callable[..., object]  # bolt's `Respond`, or a `PrivateReply` (`guarded`)
    user_id: str
    channel_id: str | None
    role: Role
    ghl_email: str | None
    body: dict[str, Any]

    def say(self, text: str, *, blocks: list[dict[str, Any]] | None = None, **kw: Any) -> None:
        """Answer the user privately: the request's response_url, else an ephemeral or a DM."""
        self.respond(text=text, blocks=blocks or text_blocks(text), response_type="ephemeral", **kw)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def button_value(turn: Turn) -> str:
    """The clicked button's value (our buttons carry an MLS id). Control characters come only
    from forged payloads (Socket Mode skips the HTTP checks); they become U+FFFD, so no query
    sees a NUL (PostgreSQL refuses it) and the user is shown "no deal" for what they sent."""
    return _CONTROL.sub("\ufffd", str(turn.body["actions"][0].get("value") or ""))


def services_of(context: BoltContext) -> BotServices:
    return context["services"]


def turn_of(
    body: dict[str, Any], context: BoltContext, client: WebClient, respond: Callable[..., object]
) -> Turn:
    sent_in = body.get("channel")  # a dict from Slack; anything else is ignored, not a crash
    channel = context.get("channel_id") or (
        sent_in.get("id") if isinstance(sent_in, dict) else None
    )
    return Turn(
        services=services_of(context),
        client=client,
        respond=respond,
        user_id=context.get("user_id") or "",
        channel_id=channel,
        role=Role(context.get("role") or Role.NONE),
        ghl_email=context.get("ghl_email"),
        body=body,
    )


def refusal(context: BoltContext, permission: str) -> str | None:
    """The refusal text when the caller's role may not do `permission`, else None."""
    role = context.get("role")
    if allowed(role, permission):
        return None
    return msg.refused(permission, role, required_role(permission).value)


def ghl_trouble(services: BotServices, exc: GHLError) -> str:
    """What to tell a user when GHL failed: the error and the last health check's verdict."""
    state = "unreachable"
    try:
        with session_scope(services.engine, readonly=True) as session:
            check = latest_health_check(session=session)
            if check is not None and check.state != "healthy":
                state = check.state
    except Exception:  # the store being down too must not hide the GHL message
        log.exception("could not read the last health check")
    return msg.ghl_down(state, [str(exc)])


def explain_failure(services: BotServices | None, exc: Exception) -> tuple[str, bool]:
    """The user's message for a failure, and whether it is a bug to log with a traceback."""
    if isinstance(exc, GHLMapError):
        return msg.ghl_map_problem(str(exc)), False
    if isinstance(exc, GHLError) and services is not None:
        return ghl_trouble(services, exc), False
    reference = uuid.uuid4().hex[:8]
    return msg.internal_error(reference), True


ReplyFactory = Callable[[dict[str, Any], BoltContext, WebClient], Callable[..., object]]


def guarded(
    func: Callable[[Turn], None],
    *,
    permission: Permission,
    told_in_ack: bool = False,
    reply: ReplyFactory | None = None,
) -> Lazy:
    """A bolt lazy listener that hands `func(turn)` to the services' work pool.

    Bolt runs lazy listeners on the pool its ack functions use; handing the work on keeps
    that pool free for acks. On the work pool the user's role is asked for again and checked
    against `permission` (`authz.recheck`) before `func` runs, so no work is done for a user
    without the role at that moment. A failure is logged (secrets masked by the log filter)
    and told to the user, never lost: bolt would only log it. Answers go through
    `PrivateReply` (the response_url, else an ephemeral, else a DM); `reply` builds another
    answer route.
    """

    def lazy(
        body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
    ) -> None:
        turn = turn_of(body, context, client, respond)
        if reply is not None:
            turn.respond = reply(body, context, client)
        else:
            turn.respond = PrivateReply(
                client=client, user_id=turn.user_id, channel_id=turn.channel_id,
                response_url=getattr(respond, "response_url", None),
            )  # fmt: skip
        turn.services.work.submit(_run, func, turn, permission, told_in_ack)

    lazy.__name__ = f"lazy_{func.__name__}"
    lazy.__qualname__ = lazy.__name__
    lazy.permission = permission  # type: ignore[attr-defined]  # checked by the listener tests
    return lazy


def _run(
    func: Callable[[Turn], None], turn: Turn, permission: Permission, told_in_ack: bool
) -> None:
    try:
        if recheck(turn, permission, told_in_ack=told_in_ack):
            func(turn)
    except Exception as exc:
        text, is_bug = explain_failure(turn.services, exc)
        if is_bug:
            log.exception("%s failed: %s", func.__name__, text)
        else:
            log.warning("%s: %s", func.__name__, exc)
        try:
            turn.say(text)
        except Exception:
            log.exception("could not tell the user about the failure of %s", func.__name__)
