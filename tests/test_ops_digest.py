"""The morning digest: the week's hot deals with their GHL stage, posted to #deals (Slack fake)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient

from bot.ops.digest import digest_text, post_digest
from bot.ops.wiring import slack_poster
from sandbox.slack_fake import BOT_TOKEN
from store.db import session_scope
from store.deals import OpportunityLinkIn, record_opportunity_link, upsert_property

NOW = datetime(2027, 1, 15, 13, 0, tzinfo=UTC)  # 08:00 in New York
STAGES = {"stage-hot": "Hot Deal", "stage-showing": "Showing Booked"}


def add_deal(engine, mls_id: str, score: float, *, days_ago: float = 1, stage: str | None = None):
    when = NOW - timedelta(days=days_ago)
    record = {"mls_id": mls_id, "address": f"{mls_id} <Main> St", "city": "Tampa"}
    with session_scope(engine) as session:
        upsert_property(
            session=session,
            mls_id=mls_id,
            location_id="loc",
            data={"record": record},
            deal_score=score,
            now=when,
        )
        if stage is not None:
            link = OpportunityLinkIn(
                mls_id=mls_id,
                location_id="loc",
                opportunity_id=f"o-{mls_id}",
                stage_id=stage,
                status="open",
            )
            record_opportunity_link(session=session, link_in=link, now=when)


def test_the_digest_lists_this_weeks_hot_deals_best_first_with_their_stage(sqlite_engine):
    add_deal(sqlite_engine, "A1", 92, stage="stage-hot")
    add_deal(sqlite_engine, "B2", 97, stage="stage-showing")
    add_deal(sqlite_engine, "C3", 95)  # no GHL deal yet
    add_deal(sqlite_engine, "D4", 80, stage="stage-hot")  # good, not hot
    add_deal(sqlite_engine, "E5", 99, days_ago=8, stage="stage-hot")  # older than a week
    text = digest_text(
        engine=sqlite_engine,
        location_id="loc",
        hot=90,
        stage_names=STAGES,
        now=NOW,
        timezone="America/New_York",
        opportunity_url=lambda oid: f"https://ghl.example/{oid}",
    )
    lines = text.splitlines()
    assert lines[0] == ":fire: *Hot deals* — Friday 15 January: 3 in the last 7 days"
    assert [line.split("(MLS ")[1][:2] for line in lines[1:]] == ["B2", "C3", "A1"]
    assert "*B2 &lt;Main&gt; St, Tampa*" in lines[1]  # outside text escaped
    assert "score 97 — Showing Booked, open — <https://ghl.example/o-B2|open in GHL>" in lines[1]
    assert lines[2].endswith("no GHL deal yet")


def test_no_hot_deal_no_digest(sqlite_engine):
    add_deal(sqlite_engine, "D4", 80)
    assert (
        digest_text(engine=sqlite_engine, location_id="loc", hot=90, stage_names={}, now=NOW)
        is None
    )


def test_the_digest_is_posted_to_the_deals_channel(sqlite_engine, slack_fake):
    add_deal(sqlite_engine, "A1", 92, stage="stage-hot")
    web = WebClient(token=BOT_TOKEN, base_url=slack_fake.api_url)

    def names():
        raise ConnectionError("GHL unreachable")  # stage names are optional: ids are shown

    post_digest(
        engine=sqlite_engine,
        location_id="loc",
        hot=90,
        stage_names=names,
        post=slack_poster(web, "#deals"),
        now=NOW,
    )
    (message,) = slack_fake.messages("C0DEALS")
    assert "A1 &lt;Main&gt; St" in message.text and "stage-hot, open" in message.text


def test_a_digest_slack_refused_fails_the_job(sqlite_engine):
    add_deal(sqlite_engine, "A1", 92)
    with pytest.raises(RuntimeError, match="could not be posted"):
        post_digest(
            engine=sqlite_engine,
            location_id="loc",
            hot=90,
            stage_names=dict,
            post=lambda text: False,
            now=NOW,
        )
