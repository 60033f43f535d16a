"""Settings validate at start with a clear message per problem; secrets never reach logs."""

import logging

import pytest

from bot.settings import ConfigError, load_settings
from ghl.errors import GHLAuthError
from ghl.redact import MASK, RedactingFilter, redact, register_secret


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in [
        "GHL_API_KEY",
        "GHL_LOCATION_ID",
        "GHL_BASE_URL",
        "DATABASE_URL",
        "REDIS_URL",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "SLACK_API_URL",
        "DEALFINDER_DRY_RUN",
    ]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults_without_credentials(clean_env):
    s = load_settings()
    assert s.ghl_base_url == "https://services.leadconnectorhq.com"
    assert s.database_url == "sqlite:///dealfinder.db"
    assert s.dry_run is False
    assert s.missing("ghl") == ["GHL_API_KEY", "GHL_LOCATION_ID"]


def test_require_names_every_missing_setting_with_a_hint(clean_env):
    s = load_settings()
    with pytest.raises(ConfigError) as info:
        s.require("ghl", "slack")
    text = str(info.value)
    for name in ["GHL_API_KEY", "GHL_LOCATION_ID", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]:
        assert name in text
    assert "private integration" in text


def test_placeholders_count_as_unset(clean_env, monkeypatch):
    monkeypatch.setenv("GHL_API_KEY", "changeme")
    assert load_settings().ghl_api_key is None


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("GHL_BASE_URL", "services.leadconnectorhq.com", "http(s) URL"),
        ("DATABASE_URL", "mysql://x@y/z", "sqlite:///"),
        ("SLACK_BOT_TOKEN", "xoxp-user-token", "xoxb-"),
        ("SLACK_APP_TOKEN", "xoxb-wrong", "xapp-"),
        ("DEALFINDER_DRY_RUN", "maybe", "bool"),
    ],
)
def test_malformed_values_are_reported_by_name(clean_env, monkeypatch, name, value, fragment):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert name in str(info.value) and fragment in str(info.value)
    assert "xoxp-user-token" not in str(info.value)  # the secret is not echoed back


def test_postgres_urls_get_the_psycopg_dialect(clean_env, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@127.0.0.1:5432/test")
    assert load_settings().database_url == "postgresql+psycopg://u@127.0.0.1:5432/test"


def test_registered_secret_and_token_shapes_are_masked():
    register_secret("pit-0f3c2b1a-aaaa-bbbb-cccc-1234567890ab")
    text = redact(
        "token pit-0f3c2b1a-aaaa-bbbb-cccc-1234567890ab and xoxb-123-456-abcdef "
        "and Authorization: Bearer abcdefgh12345"
    )
    assert "pit-0f3c" not in text and "xoxb-123" not in text and "abcdefgh12345" not in text
    assert text.count(MASK) == 3


def test_logging_filter_masks_messages_and_tracebacks(caplog):
    register_secret("super-secret-token-value")
    logger = logging.getLogger("dealfinder.test.redact")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="dealfinder.test.redact"):
        logger.info("calling with %s", "super-secret-token-value")
        try:
            raise RuntimeError("boom super-secret-token-value")
        except RuntimeError:
            logger.exception("failed")
    assert "super-secret-token-value" not in caplog.text
    assert "super-secret-token-value" not in "".join(r.exc_text or "" for r in caplog.records)


def test_exception_text_is_redacted():
    register_secret("another-secret-token")
    err = GHLAuthError("bad token another-secret-token", status=401)
    assert "another-secret-token" not in str(err)


def test_every_secret_setting_is_masked_once_loaded(clean_env, monkeypatch):
    """Secrets without a token shape (signing secret, client secret, Fernet key, API tokens,
    workflow secret) are masked in log lines as soon as the settings are read, whichever code
    later gets hold of them."""
    from cryptography.fernet import Fernet

    fernet_key = Fernet.generate_key().decode()
    values = {
        "SLACK_SIGNING_SECRET": "8f14e45fceea167a5a36dedd4bea2543",
        "GHL_CLIENT_ID": "client-id-1",
        "GHL_CLIENT_SECRET": "c0ffee-client-secret-5d41402abc4b",
        "GHL_APP_REDIRECT_URL": "https://bot.example.com/ghl/oauth/callback",
        "DEALFINDER_SECRET_KEY": fernet_key,
        "DEALFINDER_WORKFLOW_WEBHOOK_SECRET": "wf_0123456789abcdefghijklmn",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    api_tokens = ["Xq3analysis0123456789abcdefgh", "9Fkbackfill0123456789abcdefgh"]
    monkeypatch.setenv("DEALFINDER_API_TOKEN", f"analysis:{api_tokens[0]},backfill:{api_tokens[1]}")
    load_settings()
    secrets = [v for k, v in values.items() if k not in ("GHL_CLIENT_ID", "GHL_APP_REDIRECT_URL")]
    for secret in secrets + api_tokens:
        assert secret not in redact(f"failed with {secret}!"), secret
    assert "client-id-1" in redact("client-id-1")  # not a secret: left as it is
