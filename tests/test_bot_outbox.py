"""`/ghl outbox` end to end: a hot deal whose workflow enrolment got a 502 is waiting for a
person; a broker sees it in Slack with the reason and how to settle it; an agent is refused;
outside text in the outbox is shown literally."""

from __future__ import annotations

import json

from sqlmodel import select

from bot.slack.outbox_view import outbox_blocks
from sandbox.slack_fake.blocks import message_block_problems
from store import outbox
from store.db import session_scope
from store.models import OutboxItem
from tests.fixtures.bot import BotWorld

BROKER, AGENT = "U0BROKER1", "U0AGENT01"


def test_a_broker_sees_what_waits_for_a_person_and_why(bot_world: BotWorld) -> None:
    ok = bot_world.driver.slash_command(command="/ghl", text="outbox", user_id=BROKER)
    assert ok.acked_in_time and "Reading the outbox" in ok.json()["text"]
    bot_world.wait_for_ephemeral(BROKER, "Nothing in the outbox waits for a person")

    bot_world.emulator.queue_fault("POST", "/contacts/*/workflow/*", "server_error", status=502)
    result = bot_world.add_deal("TPA-1001")  # hot: the enrolment's answer is lost
    assert any("outcome unknown" in w for w in result.warnings)

    bot_world.driver.slash_command(command="/ghl", text="outbox", user_id=BROKER)
    answer = bot_world.wait_for_ephemeral(BROKER, "1 outbox item waits for a person")
    shown = json.dumps(answer.blocks)
    assert "workflow:hot_deal:loc_demo:TPA-1001" in shown and "outcome unknown" in shown
    assert "dealfinder outbox retry ID" in shown


def test_an_agent_is_refused_in_the_ack(bot_world: BotWorld) -> None:
    sent = bot_world.driver.slash_command(command="/ghl", text="outbox", user_id=AGENT)
    assert sent.acked_in_time
    assert "Only brokers and admins can see the outbox" in sent.json()["text"]
    assert (
        "/ghl outbox"
        in bot_world.driver.slash_command(command="/ghl", text="outbox now", user_id=BROKER).json()[
            "text"
        ]
    )  # takes no arguments: the usage


def test_outside_text_is_literal_and_the_message_fits_slack(sqlite_engine) -> None:
    hostile = "<!channel> <https://evil.example|click> & co"
    with session_scope(sqlite_engine) as session:
        for i in range(40):
            outbox.enqueue(session=session, kind="sms", dedupe_key=f"sms:{i}:{hostile}", payload={})
    with session_scope(sqlite_engine) as session:
        claimed = outbox.claim_due(session=session, now=outbox.utcnow(), worker_id="w",
                                   lease_seconds=60, limit=40)  # fmt: skip
        for item in claimed:
            assert item.id is not None
            outbox.mark_failed(session=session, item_id=item.id, worker_id="w",
                               error=f"GHL said {hostile} " + "x" * 500)  # fmt: skip
    with session_scope(sqlite_engine, readonly=True) as session:
        failed = list(session.exec(select(OutboxItem).order_by(OutboxItem.id)).all())
    blocks = outbox_blocks({("sms", "failed"): 40, ("sms", "pending"): 2}, failed)
    assert message_block_problems(blocks) == []
    text = json.dumps(blocks)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "&amp; co" in text and "40 outbox items wait for a person" in text
    assert "2 sms" in text
