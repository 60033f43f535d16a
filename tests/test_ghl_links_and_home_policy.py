"""Pure policies of link previews and the Home tab: which URLs are GHL deal records, and
when a person's Home tab may be published again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.settings import ConfigError, load_settings
from bot.slack.ghl_links import GHLLink, parse_ghl_link
from bot.slack.home.tab import publish_delay, tasks_affordable

APP = ("app.gohighlevel.com",)
WHITE_LABEL = ("app.gohighlevel.com", "crm.acmerealty.com")
LOC = "https://app.gohighlevel.com/v2/location/LOC1"


@pytest.mark.parametrize(
    ("url", "domains", "expected"),
    [
        # The product's own "Open in GHL" link (GHLClient.opportunity_url).
        (f"{LOC}/opportunities/list?opportunityId=opp_9", APP,
         GHLLink("opportunity", "LOC1", "opp_9")),
        # ... as Slack escapes it in message text.
        (f"{LOC}/opportunities/list?pipelineId=p1&amp;opportunityId=opp_9", APP,
         GHLLink("opportunity", "LOC1", "opp_9")),
        (f"{LOC}/opportunities/opp_9", APP, GHLLink("opportunity", "LOC1", "opp_9")),
        (f"{LOC}/contacts/detail/c-77", APP, GHLLink("contact", "LOC1", "c-77")),
        (f"{LOC}/contacts/detail/c-77/", APP, GHLLink("contact", "LOC1", "c-77")),
        ("https://app.gohighlevel.com/location/LOC1/contacts/detail/c1", APP,
         GHLLink("contact", "LOC1", "c1")),  # the older, un-versioned path
        ("https://crm.acmerealty.com/v2/location/LOC1/contacts/detail/c1", WHITE_LABEL,
         GHLLink("contact", "LOC1", "c1")),  # an agency's white-label domain
        ("https://crm.acmerealty.com/v2/location/LOC1/contacts/detail/c1", APP, None),
        ("https://app.gohighlevel.com.evil.example/v2/location/LOC1/contacts/detail/c1", APP,
         None),
        (f"{LOC}/opportunities/list", APP, None),  # the pipeline board, not a record
        (f"{LOC}/opportunities/list?opportunityId=", APP, None),
        (f"{LOC}/opportunities/pipeline", APP, None),
        (f"{LOC}/contacts/smart_list/All", APP, None),
        (f"{LOC}/contacts/detail/a%20b", APP, None),
        ("ftp://app.gohighlevel.com/v2/location/LOC1/contacts/detail/c1", APP, None),
        ("not a url", APP, None),
    ],
)  # fmt: skip
def test_which_urls_are_ghl_records(
    url: str, domains: tuple[str, ...], expected: GHLLink | None
) -> None:
    assert parse_ghl_link(url, domains=domains) == expected


T0 = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("last_at", "now", "expected"),
    [
        (None, T0, 0.0),  # never published: now
        (T0, T0, 10.0),  # just published: wait the whole window
        (T0, T0 + timedelta(seconds=4), 6.0),
        (T0, T0 + timedelta(seconds=10), 0.0),  # the window is over
        (T0, T0 + timedelta(hours=2), 0.0),
        (T0, T0 - timedelta(seconds=30), 0.0),  # the clock went back: do not wait blind
    ],
)
def test_when_a_home_tab_may_be_published_again(
    last_at: datetime | None, now: datetime, expected: float
) -> None:
    assert publish_delay(last_at=last_at, now=now, min_interval=10.0) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("app.gohighlevel.com", ("app.gohighlevel.com",)),
        (" App.GoHighLevel.com , crm.acme.com ", ("app.gohighlevel.com", "crm.acme.com")),
    ],
)  # fmt: skip
def test_ghl_app_domains_are_host_names(value: str, expected: tuple[str, ...]) -> None:
    assert load_settings(_env_file=None, GHL_APP_DOMAINS=value).app_domains == expected


@pytest.mark.parametrize("value", ["https://app.gohighlevel.com/", "", "localhost", "a b.com"])
def test_a_malformed_ghl_app_domains_names_the_setting_and_the_fix(value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(_env_file=None, GHL_APP_DOMAINS=value)
    assert "GHL_APP_DOMAINS" in str(raised.value) and "app.gohighlevel.com" in str(raised.value)


@pytest.mark.parametrize(
    ("burst_remaining", "calls", "expected"),
    [
        (100, 10, True),
        (30, 10, True),  # 20 left: exactly the reserve
        (29, 10, False),
        (20, 0, True),  # nothing to read
        (5, 1, False),
        (0, 0, False),  # the window is spent: even nothing would wait behind it
    ],
)
def test_tasks_are_read_only_when_ghl_has_room_for_deal_work(
    burst_remaining: int, calls: int, expected: bool
) -> None:
    assert tasks_affordable(burst_remaining=burst_remaining, burst_max=100, calls=calls) is expected
