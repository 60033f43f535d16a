"""The Home tab and link previews as Block Kit: within Slack's limits however much there is
to show (checked by the Slack fake's own validators), and outside text escaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

from bot.slack.home.blocks import HomeData, TaskLine, home_view, unfurl_blocks
from sandbox.slack_fake.api_home import home_view_problems
from sandbox.slack_fake.blocks import message_block_problems
from services.desk import DealCard

NOW = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)


def card(n: int, **values: object) -> DealCard:
    base: dict[str, object] = {
        "mls_id": f"TPA-{n}", "address": f"{n} Bay Vista Ave " + "x" * 200, "city": "Tampa",
        "state": "FL", "zip": "33611", "price": 265_000, "score": 93, "hot": True,
        "stage": "Priority Review", "owner": "Maria Lopez",
        "opportunity_url": f"https://app.gohighlevel.com/v2/location/L/opportunities/list?opportunityId=o{n}",
    }  # fmt: skip
    return DealCard(**(base | values))  # type: ignore[arg-type]


def test_a_full_home_tab_stays_within_slacks_limits() -> None:
    many = [card(n) for n in range(200)]
    tasks = [TaskLine(title="Call seller " * 20, mls_id=f"TPA-{n}", due=NOW, overdue=n % 2 == 0)
             for n in range(300)]  # fmt: skip
    waiting = [
        SimpleNamespace(id=n, kind="sms", last_error="GHL said 422 " * 40) for n in range(50)
    ]
    stages = [(f"Stage {n}", n) for n in range(40)]
    data = HomeData(user_id="U1", role="admin", now=NOW, claimed=many, hot=many, tasks=tasks,
                    stages=stages, waiting=waiting, waiting_total=50, health_state="degraded",
                    health_at=NOW)  # fmt: skip
    view = home_view(data)
    assert home_view_problems(view) == []
    assert len(view["blocks"]) <= 100
    text = json.dumps(view, ensure_ascii=False)
    assert "Your claimed deals (200)" in text and "… and 190 more" in text
    assert "Waiting for a person (50)" in text and "GHL was *degraded*" in text


def test_a_person_without_a_role_sees_no_deal() -> None:
    view = home_view(HomeData(user_id="U1", role="none", now=NOW, claimed=[card(1)]))
    assert home_view_problems(view) == []
    text = json.dumps(view, ensure_ascii=False)
    assert "TPA-1" not in text and "does not list you" in text


def test_outside_text_in_a_preview_is_escaped() -> None:
    hostile = card(1, address="<!channel> 1 Main St", owner="<@U0ADMIN01>", stage="*bold* & <x>")
    blocks = unfurl_blocks(hostile)
    assert message_block_problems(blocks) == []
    text = json.dumps(blocks, ensure_ascii=False)
    assert "<!channel>" not in text and "<@U0ADMIN01>" not in text and "<x>" not in text
    assert "&lt;!channel&gt;" in text


def test_a_task_title_is_escaped_once() -> None:
    """`&` shows as `&` in Slack: escaped once (`&amp;`), not twice (`&amp;amp;` showed `&amp;`)."""
    tasks = [TaskLine(title="Call agent & seller <!here> — TPA-1", mls_id="TPA-1", due=NOW,
                      overdue=False)]  # fmt: skip
    view = home_view(HomeData(user_id="U1", role="admin", now=NOW, tasks=tasks))
    text = json.dumps(view, ensure_ascii=False)
    assert "Call agent &amp; seller &lt;!here&gt; — `TPA-1`" in text
    assert "&amp;amp;" not in text and "&amp;lt;" not in text
