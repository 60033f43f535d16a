"""A strict local fake of the Slack Web API, and a driver that sends Slack's signed requests.

Slack cannot run here, so the bot's tests and the sandbox talk over real HTTP to `SlackFake`
(slack_sdk's `WebClient(base_url=served.api_url)`), and `SlackDriver` plays the Slack client.
The fake refuses what Slack refuses, so a bot that passes against it works against Slack.
It also speaks Socket Mode: `apps.connections.open` with the app-level token hands out a
websocket URL, and `SlackDriver.socket_mode(fake)` pushes envelopes to the connected app.

    fake = SlackFake()
    with fake.serve() as served:
        client = WebClient(token=BOT_TOKEN, base_url=served.api_url)
"""

from sandbox.slack_fake.config import APP_TOKEN, BOT_TOKEN, FakeConfig
from sandbox.slack_fake.delivery import Delivery, Via
from sandbox.slack_fake.driver import SlackDriver, Tamper
from sandbox.slack_fake.fake import SlackFake
from sandbox.slack_fake.server import ServedFake
from sandbox.slack_fake.signing import sign, verify
from sandbox.slack_fake.socket_mode import Envelope, NoSocketConnection, SocketModeHub
from sandbox.slack_fake.state import Call, Channel, Message, User, UserGroup

__all__ = [
    "APP_TOKEN",
    "BOT_TOKEN",
    "Call",
    "Channel",
    "Delivery",
    "Envelope",
    "FakeConfig",
    "Message",
    "NoSocketConnection",
    "ServedFake",
    "SlackDriver",
    "SlackFake",
    "SocketModeHub",
    "Tamper",
    "User",
    "UserGroup",
    "Via",
    "sign",
    "verify",
]
