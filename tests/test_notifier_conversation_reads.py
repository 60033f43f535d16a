"""The conversation reads the notifier relies on to learn whether a text went out, against the
emulator (requests and answers checked against conversations.json, Version 2021-04-15)."""

from __future__ import annotations

from datetime import timedelta

from services.notify.send import find_sent_message


def test_search_finds_the_contacts_conversation(notify_world):
    world = notify_world
    buyer, other = world.add_buyer(), world.add_buyer(first_name="Bo")
    assert world.client.conversations.search(contact_id=buyer) == []
    sent = world.client.conversations.send_sms(buyer, "hello")
    world.client.conversations.send_sms(other, "hi there")
    (conversation,) = world.client.conversations.search(contact_id=buyer)
    assert conversation.id == sent.conversation_id and conversation.contact_id == buyer
    assert conversation.last_message_body == "hello"


def test_messages_page_newest_first(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    for n in range(5):
        world.client.conversations.send_sms(buyer, f"text {n}")
        world.clock.sleep(1)  # the shared fake clock: each text a second apart
    (conversation,) = world.client.conversations.search(contact_id=buyer)
    first = world.client.conversations.messages(conversation.id, limit=2)
    assert [m.body for m in first.messages] == ["text 4", "text 3"] and first.next_page
    second = world.client.conversations.messages(
        conversation.id, limit=2, last_message_id=first.last_message_id
    )
    assert [m.body for m in second.messages] == ["text 2", "text 1"]
    assert all(m.direction == "outbound" and m.message_type == "TYPE_SMS" for m in first.messages)
    assert first.messages[0].added_at == world.clock.now - timedelta(seconds=1)


def test_recent_messages_stop_at_the_first_older_one(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    world.client.conversations.send_sms(buyer, "old")
    world.clock.sleep(3600)
    since = world.clock.now
    world.client.conversations.send_sms(buyer, "new")
    bodies = [m.body for m in world.client.conversations.recent_messages(buyer, since=since)]
    assert bodies == ["new"]


def test_find_sent_message_needs_the_body_and_the_time(notify_world):
    world = notify_world
    buyer = world.add_buyer()
    since = world.clock.now
    world.client.conversations.send_sms(buyer, "Deal MLS1 https://x.co/1")
    client = world.client
    found = find_sent_message(
        client, contact_id=buyer, body="Deal MLS1 https://x.co/1", since=since
    )
    assert found is not None and found.body == "Deal MLS1 https://x.co/1"
    assert (
        find_sent_message(client, contact_id=buyer, body="Deal MLS2 https://x.co/2", since=since)
        is None
    )
    later = since + timedelta(minutes=1)
    assert (
        find_sent_message(client, contact_id=buyer, body="Deal MLS1 https://x.co/1", since=later)
        is None
    )


def test_an_unknown_conversation_is_a_400(notify_world):
    import pytest

    from ghl.errors import GHLBadRequestError

    with pytest.raises(GHLBadRequestError):
        notify_world.client.conversations.messages("no_such_conversation")
