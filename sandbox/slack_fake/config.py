"""Settings of the Slack Web API fake: workspace identity, tokens and the platform limits.

The defaults are Slack's published limits; tests change one field to make a limit easy to hit.

    config = FakeConfig(post_message_burst=1)
    fake = SlackFake(config)
"""

from __future__ import annotations

from dataclasses import dataclass

BOT_TOKEN = "xoxb-fake-bot-token"  # noqa: S105 - a fixed fake credential, not a secret
APP_TOKEN = "xapp-fake-app-token"  # noqa: S105 - a fixed fake credential, not a secret


# The bot token's scopes: the manifest's (`manifest.yml`). A test drops one to see the
# `missing_scope` answer (users.lookupByEmail) or users.info without `profile.email`.
DEFAULT_BOT_SCOPES = frozenset({
    "commands", "chat:write", "usergroups:read", "channels:history", "users:read",
    "users:read.email",
})  # fmt: skip


@dataclass(frozen=True)
class FakeConfig:
    """What the fake workspace looks like and which limits it enforces."""

    team_id: str = "T0DEAL"
    team_name: str = "DealFinder Sandbox"
    team_domain: str = "dealfinder-sandbox"
    app_id: str = "A0DEALAPP"
    bot_id: str = "B0DEALBOT"
    bot_user_id: str = "U0DEALBOT"
    bot_token: str = BOT_TOKEN
    app_token: str = APP_TOKEN
    bot_scopes: frozenset[str] = DEFAULT_BOT_SCOPES
    # The deprecated verification token Slack still puts in every payload's `token` field.
    verification_token: str = "fake-verification-token"  # noqa: S105 - fake value

    # chat.postMessage: "about one message per second per channel, short bursts tolerated".
    post_message_per_second: float = 1.0
    post_message_burst: int = 4

    # Slash commands and interactions: ack within 3 s; trigger_ids live 3 s.
    ack_timeout_seconds: float = 3.0
    trigger_id_ttl_seconds: float = 3.0
    # response_url: up to 5 uses within 30 minutes.
    response_url_max_uses: int = 5
    response_url_ttl_seconds: float = 30 * 60

    # Slack truncates message text beyond 40,000 characters rather than rejecting it.
    max_text_chars: int = 40_000
    # views.push: a modal stack holds at most 3 views.
    max_view_stack: int = 3

    # The app's unfurl domains (manifest `features.unfurl_domains`): link_shared is sent for
    # links to these hosts and their subdomains only.
    unfurl_domains: tuple[str, ...] = ("app.gohighlevel.com",)

    # Fault injection: the Retry-After of an injected `ratelimited`, the delay of `slow`.
    fault_retry_after_seconds: int = 1
    slow_fault_seconds: float = 2.0
