"""`link_shared` and `app_home_opened` reach the real `dealfinder serve` over Socket Mode too:
the fake pushes them as `events_api` envelopes, the bot acks within 3 s and answers through
the Web API (`chat.unfurl`, `views.publish`)."""

from __future__ import annotations

import json

import pytest

from sandbox.ghl_emulator import DEMO_LOCATION_ID
from sandbox.slack_fake import SlackDriver, SlackFake
from sandbox.slack_fake.events import home_view_of, open_app_home, share_link, unfurls_of
from tests.fixtures.bot import wait_for
from tests.test_bot_socket_mode import BotProcess, seeded_ghl, socket_bot

pytestmark = pytest.mark.slow  # dealfinder serve in a subprocess

__all__ = ["seeded_ghl", "socket_bot"]  # fixtures shared with the Socket Mode tests


def test_events_over_socket_mode_publish_the_home_tab_and_preview_links(
    socket_bot: BotProcess, slack_fake: SlackFake
) -> None:
    driver = SlackDriver.socket_mode(slack_fake)
    opened = open_app_home(driver, user_id="U0AGENT01")
    assert opened.acked_in_time and opened.envelope is not None
    assert opened.envelope.type == "events_api"
    view = wait_for(lambda: home_view_of(slack_fake, "U0AGENT01"), what="the Home tab")
    assert "Your claimed deals (0)" in json.dumps(view)

    url = f"https://app.gohighlevel.com/v2/location/{DEMO_LOCATION_ID}/contacts/detail/nobody1"
    shared = share_link(driver, text=url, user_id="U0AGENT01")
    assert shared.delivery is not None and shared.delivery.acked_in_time
    unfurls = wait_for(lambda: unfurls_of(slack_fake, shared.unfurl_id), what="the preview")
    assert "Not a DealFinder deal" in json.dumps(unfurls[url])
    socket_bot.running()
