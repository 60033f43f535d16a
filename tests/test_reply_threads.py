"""Buyers' replies in Slack (`bot.slack.reply_threads`) on SQLite and PostgreSQL with the Slack
fake: one replies thread per deal across restarts, crashes and processes; the card thread when the
deal has a card; no reply posted twice; a refusal is raised, never reported as posted.

`python -m tests.test_reply_threads '<json>'` runs one poster in its own process (the
two-process tests): it prints "ready", waits for a line, posts, and prints what happened.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine

from bot.slack.alerts import DealAlerts
from bot.slack.reply_threads import ReplyThreadBusy, ReplyThreads, thread_key
from sandbox.slack_fake import BOT_TOKEN, SlackFake
from services.desk import DealCard
from store.locks import named_lock

MLS_ID = "TPA-80"
CARD = DealCard(
    mls_id=MLS_ID, address="12 Oak St", city="Tampa", state="FL", zip="33602", price=245_000,
    score=80, opportunity_url="https://app.example/opp/1?a=1&b=2",
)  # fmt: skip


class Crash(Exception):
    """Stands for the process dying at a checkpoint."""


def threads_for(web: WebClient, engine: Engine, channel: str = "C0DEALS", **kw: Any):
    alerts = DealAlerts(web, engine, "C0DEALS", cards={MLS_ID: CARD}.get, location_id="loc")
    return ReplyThreads(
        client=web, engine=engine, channel=channel, cards={MLS_ID: CARD}.get,
        card_message=alerts.message_for, **kw,
    )  # fmt: skip


@pytest.fixture
def web(slack_fake: SlackFake) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=slack_fake.api_url)


def starts(slack_fake: SlackFake, channel: str = "C0DEALS") -> list[Any]:
    return [m for m in slack_fake.messages(channel) if thread_key(MLS_ID) in str(m.blocks)]


def test_the_first_reply_starts_the_thread_with_the_deal_and_later_ones_join_it(
    slack_fake: SlackFake, web: WebClient, engine: Engine
) -> None:
    threads = threads_for(web, engine)
    first = threads.post(mls_id=MLS_ID, text="Reply from *Dana*: “<b>hi</b>”", message_id="m1")
    (start,) = starts(slack_fake)
    assert first.where == "new replies thread" and first.thread_ts == start.ts
    assert "*12 Oak St, Tampa, FL 33602*" in start.text and "$245,000" in start.text
    assert "deal score 80" in start.text
    assert "<https://app.example/opp/1?a=1&amp;b=2|Open in GHL>" in start.text
    second = threads.post(mls_id=MLS_ID, text="again", message_id="m2")
    assert second.where == "replies thread" and second.thread_ts == start.ts
    texts = [m.text for m in slack_fake.replies("C0DEALS", start.ts)]
    assert texts == ["Reply from *Dana*: “&lt;b&gt;hi&lt;/b&gt;”", "again"]
    assert first.describe(MLS_ID) == f"posted to a new replies thread of {MLS_ID} in C0DEALS " \
        f"(ts {first.ts})"  # fmt: skip
    # Another instance (a restart) finds the thread in the store.
    restarted = threads_for(web, engine)
    assert restarted.post(mls_id=MLS_ID, text="third").thread_ts == start.ts
    assert len(starts(slack_fake)) == 1


def test_a_deal_not_in_the_store_still_gets_a_thread(
    slack_fake: SlackFake, web: WebClient, engine: Engine
) -> None:
    threads = threads_for(web, engine)
    threads.post(mls_id="GONE-1", text="hello?")
    (start,) = [m for m in slack_fake.messages("C0DEALS") if "replies:GONE-1" in str(m.blocks)]
    assert "deal `GONE-1`" in start.text
    assert [m.text for m in slack_fake.replies("C0DEALS", start.ts)] == ["hello?"]


def test_a_reply_about_a_deal_with_a_card_goes_to_the_card_thread(
    slack_fake: SlackFake, web: WebClient, engine: Engine
) -> None:
    alerts = DealAlerts(web, engine, "C0DEALS", cards={MLS_ID: CARD}.get, location_id="loc")
    card = alerts.post_or_update(CARD)
    assert card is not None
    posted = threads_for(web, engine).post(mls_id=MLS_ID, text="interested")
    assert posted.where == "card" and posted.thread_ts == card.ts
    assert [m.text for m in slack_fake.replies("C0DEALS", card.ts)] == ["interested"]
    assert starts(slack_fake) == []


def test_a_deleted_card_sends_the_reply_to_the_replies_thread(
    slack_fake: SlackFake, web: WebClient, engine: Engine
) -> None:
    alerts = DealAlerts(web, engine, "C0DEALS", cards={MLS_ID: CARD}.get, location_id="loc")
    card = alerts.post_or_update(CARD)
    assert card is not None
    web.chat_delete(channel=card.channel, ts=card.ts)
    slack_fake.expect_rejection("thread_not_found", method="chat.postMessage")
    posted = threads_for(web, engine).post(mls_id=MLS_ID, text="still there?")
    (start,) = starts(slack_fake)
    assert posted.where == "new replies thread" and posted.thread_ts == start.ts


def test_a_deleted_replies_thread_is_started_again(
    slack_fake: SlackFake, web: WebClient, engine: Engine
) -> None:
    threads = threads_for(web, engine)
    first = threads.post(mls_id=MLS_ID, text="one")
    web.chat_delete(channel=first.channel, ts=first.thread_ts)
    slack_fake.expect_rejection("thread_not_found", method="chat.postMessage")
    second = threads.post(mls_id=MLS_ID, text="two")
    (start,) = starts(slack_fake)
    assert second.thread_ts == start.ts != first.thread_ts
    assert threads.thread_for(MLS_ID) is not None
    assert threads.thread_for(MLS_ID).ts == start.ts  # type: ignore[union-attr]


def test_a_retried_reply_is_not_posted_twice(
    slack_fake: SlackFake, web: WebClient, engine: Engine
) -> None:
    threads = threads_for(web, engine)
    first = threads.post(mls_id=MLS_ID, text="once", message_id="ghl-msg-1")
    again = threads.post(mls_id=MLS_ID, text="once", message_id="ghl-msg-1")
    assert again.where == "already posted" and again.ts == first.ts
    assert "not posted again" in again.describe(MLS_ID)
    assert [m.text for m in slack_fake.replies("C0DEALS", first.thread_ts)] == ["once"]


def test_a_crash_after_starting_the_thread_is_adopted_not_repeated(
    slack_fake: SlackFake, web: WebClient, engine: Engine
) -> None:
    def die(point: str, mls_id: str) -> None:
        raise Crash(point)

    with pytest.raises(Crash):
        threads_for(web, engine, checkpoint=die).post(mls_id=MLS_ID, text="lost?", message_id="a")
    (start,) = starts(slack_fake)  # Slack has it; the store's map does not
    restarted = threads_for(web, engine)
    assert restarted.thread_for(MLS_ID) is None
    posted = restarted.post(mls_id=MLS_ID, text="lost?", message_id="a")
    assert [m.ts for m in starts(slack_fake)] == [start.ts]
    assert posted.thread_ts == start.ts and posted.where == "replies thread"
    assert len(slack_fake.calls_to("conversations.history")) == 1


def test_a_crash_with_the_channel_given_by_name_is_adopted_too(
    slack_fake: SlackFake, web: WebClient, engine: Engine
) -> None:
    def die(point: str, mls_id: str) -> None:
        raise Crash(point)

    with pytest.raises(Crash):
        threads_for(web, engine, channel="#ops-alerts", checkpoint=die).post(
            mls_id=MLS_ID, text="x"
        )
    threads_for(web, engine, channel="#ops-alerts").post(mls_id=MLS_ID, text="y")
    assert len(starts(slack_fake, "C0OPS")) == 1


def test_a_refused_post_raises_and_records_no_thread(
    slack_fake: SlackFake, web: WebClient, engine: Engine
) -> None:
    threads = threads_for(web, engine, channel="C0GENERAL")  # the bot is not a member
    slack_fake.expect_rejection("not_in_channel", method="chat.postMessage")
    with pytest.raises(SlackApiError):
        threads.post(mls_id=MLS_ID, text="hello", message_id="m1")
    assert threads.thread_for(MLS_ID) is None


@pytest.mark.parametrize(
    ("env", "channel"),
    [
        ({}, "#deals"),
        ({"SLACK_DEALS_CHANNEL": "C0DEALS"}, "C0DEALS"),
        ({"SLACK_REPLIES_CHANNEL": "#buyer-replies"}, "#buyer-replies"),
        ({"SLACK_REPLIES_CHANNEL": "  "}, "#deals"),
    ],
)
def test_the_replies_channel_defaults_to_the_deals_channel(
    env: dict[str, str], channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.settings import Settings

    for name in ("SLACK_DEALS_CHANNEL", "SLACK_REPLIES_CHANNEL"):
        monkeypatch.delenv(name, raising=False)
    assert Settings(_env_file=None, **env).replies_channel == channel  # type: ignore[call-arg]


def _run(args: dict[str, Any]) -> str:
    from store.db import make_engine

    engine = make_engine(args["db_url"])
    web = WebClient(token=BOT_TOKEN, base_url=args["slack_url"])
    threads = threads_for(web, engine)
    if args.get("hold"):
        with named_lock(engine, f"slack:{thread_key(MLS_ID)}") as held:
            print(f"ready {held}", flush=True)
            sys.stdin.readline()
        return "released"
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        posted = threads.post(mls_id=MLS_ID, text=args["text"], message_id=args["text"])
    except ReplyThreadBusy:
        return "busy"
    return posted.where


def _spawn(**args: Any) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.test_reply_threads", json.dumps(args)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stdout.readline().startswith("ready"), "the poster did not start"
    return process


def _finish(process: subprocess.Popen[str]) -> str:
    out, _ = process.communicate("go\n", timeout=60)
    return out.strip().splitlines()[-1]


@pytest.mark.slow  # starts a process
def test_while_another_process_starts_the_thread_the_reply_is_retried_later(
    slack_fake: SlackFake, web: WebClient, engine: Engine
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    holder = _spawn(db_url=url, slack_url=slack_fake.api_url, hold=True)
    try:
        with pytest.raises(ReplyThreadBusy):
            threads_for(web, engine).post(mls_id=MLS_ID, text="wait", message_id="w")
        assert starts(slack_fake) == [] and slack_fake.calls_to("chat.postMessage") == []
    finally:
        assert _finish(holder) == "released"
    threads_for(web, engine).post(mls_id=MLS_ID, text="wait", message_id="w")
    assert len(starts(slack_fake)) == 1


@pytest.mark.slow  # starts processes
def test_two_processes_replying_at_once_leave_one_thread(
    slack_fake: SlackFake, web: WebClient, engine: Engine
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    posters = [
        _spawn(db_url=url, slack_url=slack_fake.api_url, text=f"reply {n}") for n in range(2)
    ]
    for poster in posters:
        assert poster.stdin is not None
        poster.stdin.write("go\n")
        poster.stdin.flush()
    outcomes = [_finish(poster) for poster in posters]
    assert outcomes.count("new replies thread") == 1, outcomes
    for n, outcome in enumerate(outcomes):
        if outcome == "busy":  # the webhook job retries the event: it joins the thread
            threads_for(web, engine).post(mls_id=MLS_ID, text=f"reply {n}", message_id=f"reply {n}")
    (start,) = starts(slack_fake)
    texts = sorted(m.text for m in slack_fake.replies("C0DEALS", start.ts))
    assert texts == ["reply 0", "reply 1"]


if __name__ == "__main__":
    print(_run(json.loads(sys.argv[1])), flush=True)
