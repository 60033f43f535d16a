"""Build DealFinder's parts from Settings: the one place configuration turns into objects."""

from __future__ import annotations

import logging

from bot.settings import Settings
from ghl.client import GHLClient, make_rate_backend
from ghl.retry import RetryPolicy

log = logging.getLogger("dealfinder")

DRY_RUN_LOCATION = "loc_dry_run"


def build_ghl_client(settings: Settings) -> GHLClient:
    """A GHL client for the configured location, or an offline one when DEALFINDER_DRY_RUN is on.

    Dry-run sends nothing over the network: every call goes to an in-process GHL emulator (the
    same code the tests run against), is logged, and gets a well-formed answer.
    """
    retry = RetryPolicy(
        max_retries=settings.ghl_max_retries, base_delay=settings.ghl_retry_base_delay
    )
    timeout = (min(5.0, settings.ghl_timeout_seconds), settings.ghl_timeout_seconds)
    if settings.dry_run:
        from ghl.dryrun import dry_run_session

        location = settings.ghl_location_id or DRY_RUN_LOCATION
        token = "dry-run-token"  # noqa: S105 - not a secret: the in-process emulator's token
        return GHLClient(
            token=token,
            location_id=location,
            base_url="http://dry-run.invalid",
            session=dry_run_session(token=token, location_id=location),
            retry=retry,
            timeout=timeout,
        )
    settings.require("ghl")
    if settings.ghl_api_key is None and settings.oauth_configured:
        # No private token: the location's tokens come from the app install (OAuth).
        from bot.oauth_wiring import OAuthParts

        assert settings.ghl_location_id is not None
        parts = OAuthParts.from_settings(settings, engine=open_store(settings))
        return parts.client_for(settings.ghl_location_id)
    assert settings.ghl_api_key is not None and settings.ghl_location_id is not None
    backend = make_rate_backend(
        settings.ghl_rate_backend, database_url=settings.database_url, redis_url=settings.redis_url
    )
    return GHLClient(
        token=settings.ghl_api_key.get_secret_value(),
        location_id=settings.ghl_location_id,
        base_url=settings.ghl_base_url,
        rate_backend=backend,
        rate_margin=settings.ghl_rate_margin,
        retry=retry,
        timeout=timeout,
    )


def open_store(settings: Settings):
    """The store's engine for DATABASE_URL, migrated to the current schema (Alembic)."""
    from store.db import make_engine, migrate

    engine = make_engine(settings.database_url)
    migrate(engine)
    return engine


def bot_web_client(settings: Settings):
    """The bot's Slack Web API client (SLACK_BOT_TOKEN must be set): SLACK_API_URL as base
    URL, 429s and dropped connections retried by slack_sdk's own handlers (Retry-After
    honoured). The bot and the processes that post its cards (an import) use this one."""
    from slack_sdk import WebClient
    from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

    assert settings.slack_bot_token is not None
    return WebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=3),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


def load_config(settings: Settings):
    """The deal team's GHL map (DEALFINDER_MAPPING_FILE, or the packaged default), with
    GHL_SMS_FROM_NUMBER over its `sms.from_number`: every process loads it here."""
    from services.config import load_deal_config

    return load_deal_config(settings.mapping_file, sms_from_number=settings.ghl_sms_from_number)


def location_id_for(settings: Settings) -> str:
    """The GHL location this process works for (the dry-run one when dry-running)."""
    if settings.dry_run:
        return settings.ghl_location_id or DRY_RUN_LOCATION
    settings.require("ghl")
    assert settings.ghl_location_id is not None
    return settings.ghl_location_id
