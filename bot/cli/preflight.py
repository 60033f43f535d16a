"""Start-up checks of the services a long-running command needs: fail at once, in one line.

`dealfinder serve` and `dealfinder worker` would otherwise start with Redis down or a Slack
token Slack refuses, and fail later on every call (or never say so). Each check raises
`ServiceError` naming the setting (refused: exit 2; unreachable: exit 3) or lets the client's
own error through to the CLI's table (bot.cli.errors).

    check_slack(settings)   # auth.test with SLACK_BOT_TOKEN at SLACK_API_URL
    check_redis(settings)   # PING, when the rate-limit window lives in Redis
"""

from __future__ import annotations

import logging
from urllib.error import URLError

from bot.cli.errors import ServiceError, where
from bot.settings import Settings

SLACK_TIMEOUT_SECONDS = 10
_QUIET = logging.getLogger("dealfinder.preflight.slack_sdk")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False
REDIS_TIMEOUT_SECONDS = 5

# auth.test errors that mean "this token is not good", not "Slack is failing".
# Source: https://api.slack.com/methods/auth.test (Errors).
SLACK_REFUSALS = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "not_allowed_token_type",
    "missing_scope",
}


def check_slack(settings: Settings) -> None:
    """Slack answers and accepts SLACK_BOT_TOKEN (no-op when no token is set)."""
    if settings.slack_bot_token is None:
        return
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=SLACK_TIMEOUT_SECONDS,
        logger=_QUIET,  # the one line below says it all; slack_sdk logs each failure at ERROR
        retry_handlers=[],
    )
    host = where(settings.slack_api_url)
    try:
        client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error") or exc.response.status_code)
        if error in SLACK_REFUSALS:
            raise ServiceError(
                setting="SLACK_BOT_TOKEN",
                problem=f"Slack refused the token ({error})",
                fix="copy the bot token (xoxb-...) from your Slack app's OAuth & Permissions page",
                refused=True,
            ) from None
        raise ServiceError(
            setting="SLACK_API_URL",
            problem=f"Slack at {host} answered auth.test with {error}",
            fix="check Slack's status, and that SLACK_API_URL is https://slack.com/api/",
            refused=False,
        ) from None
    except (URLError, OSError) as exc:  # refused, DNS, TLS, timeout
        reason = getattr(exc, "reason", None) or exc
        raise ServiceError(
            setting="SLACK_API_URL",
            problem=f"Slack at {host} cannot be reached ({type(exc).__name__}: {reason})",
            fix="check the network, and that SLACK_API_URL is https://slack.com/api/",
            refused=False,
        ) from None


def uses_redis(settings: Settings) -> bool:
    """Whether the GHL rate limiter keeps its window in Redis (ghl.client.make_rate_backend)."""
    kind = settings.ghl_rate_backend
    return not settings.dry_run and (
        kind == "redis" or (kind == "auto" and settings.redis_url is not None)
    )


def check_redis(settings: Settings) -> None:
    """Redis answers PING when the rate limiter uses it; its errors go to the CLI's table."""
    if not uses_redis(settings) or settings.redis_url is None:
        return
    import redis

    client = redis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    finally:
        client.close()
