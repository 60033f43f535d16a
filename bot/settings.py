"""DealFinder's configuration: read once at the entry point, passed down as one object.

`ghl/`, `matching/` and `store/` never read the environment; they take what they need
from a `Settings` through their constructors.

    settings = Settings()              # environment and .env
    settings.require("ghl")            # raises ConfigError naming each missing setting
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

GHL_PRODUCTION_URL = "https://services.leadconnectorhq.com"
GHL_CHOOSE_LOCATION_URL = "https://marketplace.gohighlevel.com/oauth/chooselocation"

# Values people leave in .env files copied from examples; treated as "not set".
_PLACEHOLDERS = {
    "",
    "changeme",
    "change-me",
    "xxx",
    "your-api-key",
    "your_api_key",
    "todo",
    "secret",
}


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("Configuration problem:\n" + "\n".join(f"  - {p}" for p in problems))


_HINTS = {
    "GHL_API_KEY": "a GHL private integration token (Settings -> Private Integrations)",
    "GHL_LOCATION_ID": "the GHL sub-account (location) id, e.g. from the URL /location/<id>/",
    "SLACK_BOT_TOKEN": "the bot token (xoxb-...) from your Slack app's OAuth & Permissions page",
    "SLACK_SIGNING_SECRET": "the signing secret from your Slack app's Basic Information page",
    "SLACK_APP_TOKEN": "an app-level token (xapp-...) with connections:write, for Socket Mode",
}

_NEEDS = {
    "ghl": ("GHL_API_KEY", "GHL_LOCATION_ID"),
    "slack": ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"),
    "socket": ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"),
}


class Settings(BaseSettings):
    """Every setting DealFinder reads. Names are the environment variables (case-insensitive)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    ghl_api_key: SecretStr | None = Field(default=None, validation_alias="GHL_API_KEY")
    ghl_location_id: str | None = Field(default=None, validation_alias="GHL_LOCATION_ID")
    ghl_base_url: str = Field(default=GHL_PRODUCTION_URL, validation_alias="GHL_BASE_URL")
    ghl_timeout_seconds: float = Field(default=30.0, gt=0, validation_alias="GHL_TIMEOUT_SECONDS")
    ghl_max_retries: int = Field(default=3, ge=0, le=10, validation_alias="GHL_MAX_RETRIES")
    ghl_retry_base_delay: float = Field(
        default=1.0,
        gt=0,
        le=60,
        validation_alias="GHL_RETRY_BASE_DELAY",
        description="first retry wait in seconds; later ones double (1, 2, 4 s by default)",
    )
    ghl_rate_margin: float = Field(
        default=0.03,
        ge=0,
        lt=0.5,
        validation_alias="GHL_RATE_MARGIN",
        description="share of the burst and daily limits kept in reserve",
    )
    ghl_rate_backend: Literal["auto", "memory", "database", "redis"] = Field(
        default="auto", validation_alias="GHL_RATE_BACKEND"
    )

    database_url: str = Field(default="sqlite:///dealfinder.db", validation_alias="DATABASE_URL")
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")

    slack_bot_token: SecretStr | None = Field(default=None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias="SLACK_SIGNING_SECRET"
    )
    slack_app_token: SecretStr | None = Field(default=None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", validation_alias="SLACK_API_URL")
    # Hosts whose GHL links unfurl into deal cards: GHL's app, or the agency's white-label
    # domain (comma-separated). Also list them in manifest.yml `features.unfurl_domains`.
    ghl_app_domains: str = Field(default="app.gohighlevel.com", validation_alias="GHL_APP_DOMAINS")

    # -- the deal team's GHL map and business rules (data files a user edits) ----------------
    mapping_file: Path | None = Field(default=None, validation_alias="DEALFINDER_MAPPING_FILE")
    sms_rules_file: Path | None = Field(default=None, validation_alias="SMS_RULES_FILE")
    roles_file: Path | None = Field(default=None, validation_alias="DEALFINDER_ROLES_FILE")
    buyer_cache_minutes: int = Field(default=60, ge=1, validation_alias="BUYER_CACHE_MINUTES")
    # How often Slack users are matched to GHL users by email (`bot.ops.people_refresh`).
    people_refresh_minutes: int = Field(
        default=60, ge=1, le=1440, validation_alias="PEOPLE_REFRESH_MINUTES"
    )
    match_min_score: int = Field(default=70, ge=0, le=100, validation_alias="MATCH_MIN_SCORE")
    match_weights: str = Field(
        default="40,30,20,10",
        validation_alias="MATCH_WEIGHTS",
        description="points for budget, location, property type, bedrooms; they sum to 100",
    )

    # -- Slack channels --------------------------------------------------------------------
    deals_channel: str = Field(default="#deals", validation_alias="SLACK_DEALS_CHANNEL")
    ops_channel: str = Field(default="#ops-alerts", validation_alias="SLACK_OPS_CHANNEL")
    # Buyers' replies about deals without a hot-deal card start a thread here (one per deal).
    replies_channel_setting: str | None = Field(
        default=None, validation_alias="SLACK_REPLIES_CHANNEL"
    )

    @property
    def replies_channel(self) -> str:
        """Where replies threads go: SLACK_REPLIES_CHANNEL, else the deals channel."""
        return (self.replies_channel_setting or "").strip() or self.deals_channel

    # -- GHL SMS ---------------------------------------------------------------------------
    ghl_sms_from_number: str | None = Field(
        default=None,
        validation_alias="GHL_SMS_FROM_NUMBER",
        description="the location's number texts are sent from (E.164); unset: GHL's default",
    )

    # -- GHL webhooks ----------------------------------------------------------------------
    webhook_public_key: str | None = Field(default=None, validation_alias="GHL_WEBHOOK_PUBLIC_KEY")
    webhook_legacy_rsa: bool = Field(default=False, validation_alias="GHL_WEBHOOK_LEGACY_RSA")
    # Token-only installs: GHL workflow webhooks at /ghl/workflow-events/<secret>, and polling.
    workflow_webhook_secret: SecretStr | None = Field(
        default=None, validation_alias="DEALFINDER_WORKFLOW_WEBHOOK_SECRET"
    )
    polling: Literal["auto", "on", "off"] = Field(
        default="auto",
        validation_alias="DEALFINDER_POLLING",
        description="poll GHL for events: auto (when no event path delivered lately), on, off",
    )

    # -- GHL Marketplace app (OAuth 2.0 install; instead of, or beside, GHL_API_KEY) -------
    ghl_client_id: str | None = Field(default=None, validation_alias="GHL_CLIENT_ID")
    ghl_client_secret: SecretStr | None = Field(default=None, validation_alias="GHL_CLIENT_SECRET")
    ghl_app_redirect_url: str | None = Field(default=None, validation_alias="GHL_APP_REDIRECT_URL")
    ghl_oauth_authorize_url: str = Field(
        default=GHL_CHOOSE_LOCATION_URL,
        validation_alias="GHL_OAUTH_AUTHORIZE_URL",
        description="GHL's location chooser; the emulator's /oauth/chooselocation to experiment",
    )
    secret_key: SecretStr | None = Field(default=None, validation_alias="DEALFINDER_SECRET_KEY")

    # -- operations ------------------------------------------------------------------------
    health_interval_minutes: int = Field(
        default=5, ge=1, validation_alias="HEALTH_INTERVAL_MINUTES"
    )
    alert_reminder_minutes: int = Field(default=60, ge=1, validation_alias="ALERT_REMINDER_MINUTES")
    outbox_stuck_minutes: int = Field(default=30, ge=1, validation_alias="OUTBOX_STUCK_MINUTES")
    digest_hour: int | None = Field(default=None, ge=0, le=23, validation_alias="DIGEST_HOUR")
    digest_timezone: str = Field(default="America/New_York", validation_alias="DIGEST_TIMEZONE")

    # The intake API (`POST /api/properties`): named bearer tokens (bot.web.api_tokens), a rate
    # limit per token, and the largest request body it reads.
    api_token: SecretStr | None = Field(default=None, validation_alias="DEALFINDER_API_TOKEN")
    api_rate_per_minute: int = Field(
        default=60, ge=1, le=100_000, validation_alias="DEALFINDER_API_RATE_PER_MINUTE"
    )
    api_max_body_bytes: int = Field(
        default=1_000_000, ge=1_000, le=100_000_000, validation_alias="DEALFINDER_API_MAX_BODY"
    )

    # Agency workers (`dealfinder worker --agency`): a location's lease lasts this long without
    # a heartbeat, so a dead worker's locations move to the others within about twice it.
    lease_seconds: float = Field(
        default=30.0, ge=1.0, le=3600.0, validation_alias="DEALFINDER_LEASE_SECONDS"
    )

    dry_run: bool = Field(
        default=False, validation_alias=AliasChoices("DEALFINDER_DRY_RUN", "DRY_RUN")
    )
    log_level: str = Field(default="INFO", validation_alias="DEALFINDER_LOG_LEVEL")
    log_json: bool = Field(default=False, validation_alias="DEALFINDER_LOG_JSON")

    @field_validator(
        "ghl_api_key",
        "slack_bot_token",
        "slack_signing_secret",
        "slack_app_token",
        "workflow_webhook_secret",
        "ghl_client_secret",
        "secret_key",
        "api_token",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in _PLACEHOLDERS:
            return None
        return value

    @field_validator("ghl_location_id", "redis_url", "ghl_client_id", "ghl_app_redirect_url",
                     mode="before")  # fmt: skip
    @classmethod
    def _blank_str_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in _PLACEHOLDERS:
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("workflow_webhook_secret")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # The secret is the workflow endpoint's only credential, and it travels in a URL path:
        # long enough not to be guessed, and URL-safe so GHL's URL field keeps it intact.
        if value is None:
            return None
        secret = value.get_secret_value().strip()
        if len(secret) < 24 or not all(c.isalnum() or c in "-_" for c in secret):
            raise ValueError(
                "must be at least 24 characters of letters, digits, - and _ (make one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return SecretStr(secret)

    @field_validator("digest_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @field_validator("ghl_app_domains")
    @classmethod
    def _domains(cls, value: str) -> str:
        hosts = [h.strip().lower() for h in value.split(",") if h.strip()]
        bad = [h for h in hosts if "/" in h or ":" in h or "." not in h or " " in h]
        if not hosts or bad:
            raise ValueError(
                "must be host names separated by commas, e.g. app.gohighlevel.com,crm.example.com"
                + (f" (not a host: {bad[0]!r})" if bad else "")
            )
        return ",".join(hosts)

    @property
    def app_domains(self) -> tuple[str, ...]:
        """GHL_APP_DOMAINS as a tuple of lower-case host names."""
        return tuple(self.ghl_app_domains.split(","))

    @field_validator("ghl_sms_from_number", mode="before")
    @classmethod
    def _from_number(cls, value: object) -> object:
        from services.config import E164  # the mapping's sms.from_number obeys the same rule

        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = str(value).strip()
        if not E164.fullmatch(text):
            raise ValueError("must be an E.164 phone number of the location, like +18135550100")
        return text

    @field_validator("digest_hour", mode="before")
    @classmethod
    def _blank_hour(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("match_weights")
    @classmethod
    def _weights(cls, value: str) -> str:
        parts = [p.strip() for p in value.split(",")]
        if len(parts) != 4 or not all(p.isdigit() for p in parts):
            raise ValueError("must be four whole numbers: budget,location,type,bedrooms")
        if sum(int(p) for p in parts) != 100:
            raise ValueError(f"must sum to 100, got {sum(int(p) for p in parts)}")
        return ",".join(parts)

    def weights(self):
        """The score weights as matching's `Weights`."""
        from matching.scoring import Weights

        budget, location, property_type, bedrooms = (int(p) for p in self.match_weights.split(","))
        return Weights(
            budget=budget, location=location, property_type=property_type, bedrooms=bedrooms
        )

    @field_validator("mapping_file", "sms_rules_file", "roles_file")
    @classmethod
    def _file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file not found: {value}")
        return value

    @field_validator("ghl_base_url", "slack_api_url", "ghl_oauth_authorize_url",
                     "ghl_app_redirect_url")  # fmt: skip
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value.startswith("postgres://"):  # Heroku-style; SQLAlchemy wants the dialect name
            value = "postgresql://" + value[len("postgres://") :]
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value[len("postgresql://") :]
        if not value.startswith(("sqlite:", "postgresql+psycopg:")):
            raise ValueError(
                "must be sqlite:///path.db or postgresql://user@host:port/db, got "
                + value.split("://", 1)[0]
                + "://..."
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        # Checked here, not when Redis is first used: a typo then surfaced as a traceback.
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            scheme = value.split("://", 1)[0] + "://..." if "://" in value else "no scheme"
            raise ValueError(
                f"must be redis://host:6379/0 (rediss:// for TLS, unix:///path.sock), got {scheme}"
            )
        return value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("api_token")
    @classmethod
    def _api_tokens_parse(cls, value: SecretStr | None) -> SecretStr | None:
        from bot.web.api_tokens import parse_api_tokens

        if value is not None:
            parse_api_tokens(value.get_secret_value())  # ValueError names the problem, not a token
        return value

    @property
    def api_tokens(self):  # -> bot.web.api_tokens.ApiTokens | None
        """The intake API's named tokens (None: the API answers 503, not configured)."""
        from bot.web.api_tokens import parse_api_tokens

        return parse_api_tokens(self.api_token.get_secret_value()) if self.api_token else None

    # -- checks made by the command that needs them ------------------------------------------

    def missing(self, *groups: str) -> list[str]:
        """The environment names of the settings `groups` need that are not set."""
        names: list[str] = []
        for group in groups:
            for name in _NEEDS[group]:
                if name == "GHL_API_KEY" and self.oauth_configured:
                    continue  # the app install's tokens stand in for a private token
                if getattr(self, name.lower()) is None and name not in names:
                    names.append(name)
        return names

    def require(self, *groups: str) -> None:
        """Raise ConfigError naming every setting `groups` ("ghl", "slack", "socket") need."""
        names = self.missing(*groups)
        if names:
            raise ConfigError([f"{n} is not set: {_HINTS[n]}" for n in names])

    @property
    def oauth_configured(self) -> bool:
        """A Marketplace app is set up (GHL_CLIENT_ID and GHL_CLIENT_SECRET)."""
        return self.ghl_client_id is not None and self.ghl_client_secret is not None

    def oauth_problems(self) -> list[str]:
        """What stops the app install from working; each line names a setting and the fix."""
        if not (self.ghl_client_id or self.ghl_client_secret):
            return []
        problems = [
            f"{name} is not set: {hint}"
            for name, hint, value in (
                (
                    "GHL_CLIENT_ID",
                    "the Client ID of your GHL Marketplace app (Advanced Settings -> Auth)",
                    self.ghl_client_id,
                ),
                (
                    "GHL_CLIENT_SECRET",
                    "a Client Secret of your GHL Marketplace app (Advanced "
                    "Settings -> Auth -> Add Secret)",
                    self.ghl_client_secret,
                ),
                (
                    "GHL_APP_REDIRECT_URL",
                    "https://<your host>/ghl/oauth/callback, the same "
                    "URL as the app's Redirect URL in GHL",
                    self.ghl_app_redirect_url,
                ),
            )
            if value is None
        ]
        key = self.secret_key.get_secret_value() if self.secret_key else None
        fix = (
            'generate one with `python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"` and keep it safe: the stored GHL tokens '
            "are encrypted with it"
        )
        if key is None:
            problems.append(f"DEALFINDER_SECRET_KEY is not set (needed with GHL_CLIENT_ID): {fix}")
        else:
            from cryptography.fernet import Fernet

            try:
                Fernet(key.encode())
            except (ValueError, TypeError):
                problems.append(f"DEALFINDER_SECRET_KEY is not a Fernet key: {fix}")
        return problems

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        return Path(self.database_url.split(":///", 1)[1]) if ":///" in self.database_url else None


def register_secrets(settings: Settings) -> None:
    """Mask every secret setting in logs and exception texts (`ghl.redact`), each intake API
    token on its own: only the GHL and workflow secrets were registered by the code using them,
    and a signing secret, client secret, Fernet key or API token has no shape the masks know."""
    from ghl.redact import register_secret

    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            register_secret(value.get_secret_value())
    api_tokens = settings.api_tokens
    for _name, token in api_tokens.tokens if api_tokens else ():
        register_secret(token.get_secret_value())


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning pydantic's errors into one ConfigError with a line per setting."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "settings"
            problems.append(f"{name}: {err['msg']}")
        raise ConfigError(problems) from None
    register_secrets(settings)
    # With the app install configured, refuse to start without a key for its tokens.
    problems = settings.oauth_problems()
    if problems:
        raise ConfigError(problems)
    return settings
