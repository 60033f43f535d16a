"""Library chatter stays out of normal output and is kept in debug logs (issue 13): slack_sdk's
line for every retried 429 and bolt's "`token` will be unused" warning."""

import logging

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.logs import configure_logging
from sandbox.slack_fake import BOT_TOKEN


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _retried_429_and_bolt_app(slack_fake, monkeypatch):
    """What a normal run does: a post Slack rate-limits once (retried), and the bolt app
    built with our client while SLACK_BOT_TOKEN is in the environment."""
    slack_fake.queue_fault("chat.postMessage", "ratelimited")
    web = WebClient(
        token=BOT_TOKEN,
        base_url=slack_fake.url + "/api/",
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
    )
    assert web.chat_postMessage(channel="C0DEALS", text="hello")["ok"]
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    App(client=web, signing_secret="s" * 32)


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
@pytest.mark.parametrize("level", ["INFO", "WARNING"])
def test_normal_output_has_no_library_chatter(
    slack_fake, monkeypatch, capfd, restore_logging, level
):
    configure_logging(level=level)
    _retried_429_and_bolt_app(slack_fake, monkeypatch)
    err = capfd.readouterr().err
    assert "retry handler" not in err.lower() and "429" not in err
    assert "will be unused" not in err


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_debug_logs_keep_it(slack_fake, monkeypatch, capfd, restore_logging):
    configure_logging(level="DEBUG")
    _retried_429_and_bolt_app(slack_fake, monkeypatch)
    lines = capfd.readouterr().err.splitlines()
    retried = [line for line in lines if "RateLimitErrorRetryHandler" in line]
    unused = [line for line in lines if "will be unused" in line]
    assert retried and unused  # shown as the library logged them: nothing is hidden at DEBUG
