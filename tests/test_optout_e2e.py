"""Opt-outs end to end over real HTTP: GHL's signed `InboundMessage` webhook to the bot's
`/ghl/webhooks`, the webhook job, GHL in the emulator, the bot on waitress between the Slack
fake and the store, and signed button clicks from the Slack driver.

- "ALTO" -> opted out: SMS DND set and the consent tag removed in GHL, the one confirmation in
  Spanish, and the next deal texts everyone else but not them.
- "can we stop at the property at 3?" -> paused: excluded from the next deal with the reason,
  the question in the deal's thread with Opt out / Not an opt-out; an agent's click is refused
  and changes nothing; a broker's "Not an opt-out" resumes texting.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from sqlmodel import select

from bot.ops.wiring import build_ops
from bot.slack import blocks
from sandbox.slack_fake import Message
from store.db import session_scope
from store.models import OptoutReview, OptoutReviewStatus
from tests.fixtures.bot import BotWorld, bot_settings, wait_for
from tests.fixtures.ops import signed_ed25519, webhook_payload


class Webhooks:
    """The bot process's operations side: `/ghl/webhooks` served, the webhook job runnable."""

    def __init__(self, world: BotWorld, pair: Any, serve_wsgi: Any) -> None:
        settings = bot_settings(
            SLACK_API_URL=world.slack.api_url, GHL_WEBHOOK_PUBLIC_KEY=pair.public_pem
        )
        self.world, self.pair = world, pair
        self.ops = build_ops(
            settings, engine=world.engine, client=world.ghl,
            slack_client=world.services.alerts.client, alerts=world.services.alerts,
        )  # fmt: skip
        self.url = serve_wsgi(self.ops.routes()["/ghl/webhooks"])

    def buyer_texts(self, contact_id: str, body: str, message_id: str) -> None:
        """GHL delivers the buyer's SMS, signed, over HTTP; the job then processes it."""
        payload = webhook_payload(
            "InboundMessage", contactId=contact_id, body=body, messageId=message_id,
            locationId=self.world.ghl.location_id, conversationId=f"conv-{contact_id}",
        )  # fmt: skip
        raw = json.dumps(payload).encode()
        answer = requests.post(self.url, data=raw, headers=signed_ed25519(self.pair, raw),
                               timeout=10)  # fmt: skip
        assert answer.status_code == 200, answer.text
        self.ops.scheduler.specs["webhook_events"].run(self.world.clock())


@pytest.fixture
def webhooks(bot_world: BotWorld, ed25519_pair: Any, serve_wsgi: Any) -> Webhooks:
    return Webhooks(bot_world, ed25519_pair, serve_wsgi)


def texted_buyer(world: BotWorld) -> tuple[str, Message]:
    """Post the hot deal TPA-1001, text its buyers; one buyer who got the text, and the card."""
    world.add_deal("TPA-1001")
    [card] = wait_for(world.channel_messages, what="the hot-deal message")
    outcome = world.services.actions.notify("TPA-1001")
    assert outcome is not None
    texted = sorted({m.contact_id for m in world.emulator.state.messages})
    assert len(texted) >= 2, "the demo buyers should get the deal text at 10:00 New York"
    return texted[0], card


def texts_to(world: BotWorld, contact_id: str) -> list[str]:
    return [m.body for m in world.emulator.state.messages if m.contact_id == contact_id]


def second_deal(world: BotWorld):
    world.add_deal("TPA-2002", address="77 Palm Ave")
    return world.services.actions.plan("TPA-2002")


def test_alto_by_webhook_opts_out_in_ghl_and_no_further_text(bot_world, webhooks):
    world = bot_world
    buyer, _card = texted_buyer(world)
    webhooks.buyer_texts(buyer, "ALTO", "in-alto")
    contact = world.emulator.state.contacts[buyer]
    assert contact.dnd_settings["SMS"]["status"] == "active"
    assert "sms_opt_in" not in contact.tags
    assert texts_to(world, buyer)[-1].startswith("DealFinder: le dimos de baja")
    before = len(texts_to(world, buyer))
    plan = second_deal(world)
    (entry,) = [e for e in plan.entries if e.contact_id == buyer]
    assert entry.group == "excluded" and entry.code == "opted_out"
    world.services.actions.notify("TPA-2002")
    assert any("77 Palm Ave" in m.body for m in world.emulator.state.messages)  # others texted
    assert len(texts_to(world, buyer)) == before


def review_message(world: BotWorld, card: Message) -> Message:
    def probe() -> Message | None:
        for reply in world.slack.replies(card.channel, card.ts):
            if blocks.OPTOUT_REJECT in json.dumps(reply.blocks):
                return reply
        return None

    return wait_for(probe, what="the possible opt-out in the deal's thread")


def the_review(world: BotWorld) -> OptoutReview:
    with session_scope(world.engine, readonly=True) as session:
        (review,) = session.exec(select(OptoutReview)).all()
        return review


@pytest.mark.slow  # over 0.5 s: the full run only (README, 'fast lane')
def test_a_possible_opt_out_pauses_and_a_broker_resumes_texting(bot_world, webhooks):
    world = bot_world
    buyer, card = texted_buyer(world)
    webhooks.buyer_texts(buyer, "can we stop at the property at 3?", "in-stop-at")
    message = review_message(world, card)
    assert "can we stop at the property at 3?" in json.dumps(message.blocks)
    contact = world.emulator.state.contacts[buyer]
    assert not contact.sms_blocked() and "sms_opt_in" in contact.tags  # nothing done in GHL
    plan = second_deal(world)
    (entry,) = [e for e in plan.entries if e.contact_id == buyer]
    assert entry.group == "excluded" and entry.code == "paused"

    # An agent may not decide: told so, and nothing changes.
    refused = world.driver.click_button(message, blocks.OPTOUT_REJECT, user_id="U0AGENT01")
    assert refused.acked_in_time
    world.wait_for_ephemeral("U0AGENT01", "Only brokers and admins can decide possible opt-outs")
    assert the_review(world).status == OptoutReviewStatus.PENDING
    unchanged = world.slack.find_message(card.channel, message.ts)
    assert unchanged is not None and blocks.OPTOUT_REJECT in json.dumps(unchanged.blocks)

    # A broker decides: recorded with who and when, the buttons give way to the decision.
    world.driver.click_button(message, blocks.OPTOUT_REJECT, user_id="U0BROKER1")
    world.wait_for_ephemeral("U0BROKER1", "Recorded as not an opt-out")
    review = the_review(world)
    assert (review.status, review.decided_by, review.decided_role) == (
        OptoutReviewStatus.NOT_OPT_OUT, "U0BROKER1", "broker",
    )  # fmt: skip
    assert review.decided_at == world.clock()
    shown = world.slack.find_message(card.channel, message.ts)
    assert shown is not None and "<@U0BROKER1>" in json.dumps(shown.blocks)
    assert blocks.OPTOUT_REJECT not in json.dumps(shown.blocks)

    # Texting resumes: the next notify texts them.
    before = len(texts_to(world, buyer))
    world.services.actions.notify("TPA-2002")
    assert len(texts_to(world, buyer)) == before + 1
    assert "77 Palm Ave" in texts_to(world, buyer)[-1]


def test_the_role_is_checked_again_when_the_click_is_handled(bot_world, webhooks, monkeypatch):
    """A broker at the ack who is no longer one when the work runs (the roles file changed)
    is refused, and the pause stays."""
    from bot.slack.roles import Role

    world = bot_world
    buyer, card = texted_buyer(world)
    webhooks.buyer_texts(buyer, "can we stop at the property at 3?", "in-recheck")
    message = review_message(world, card)
    asked: list[str] = []

    def role_of(user_id: str | None, **_: object) -> Role:
        asked.append(str(user_id))
        return Role.BROKER if len(asked) == 1 else Role.NONE  # the ack's check, then revoked

    monkeypatch.setattr(world.services.roles, "role_of", role_of)
    world.driver.click_button(message, blocks.OPTOUT_CONFIRM, user_id="U0BROKER1")
    world.wait_for_ephemeral("U0BROKER1", "Only brokers and admins can decide possible opt-outs")
    assert asked == ["U0BROKER1", "U0BROKER1"]
    assert the_review(world).status == OptoutReviewStatus.PENDING
    assert not world.emulator.state.contacts[buyer].sms_blocked()
