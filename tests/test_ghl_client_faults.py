"""Every error class and retry path of the GHL client, driven by the emulator's real faults
over HTTP (no monkeypatched sessions). The client and the emulator share one fake clock, so a
wait for a rate-limit window passes instantly and deterministically."""

from datetime import UTC, datetime, timedelta

import pytest

from ghl.client import GHLClient
from ghl.errors import (
    GHLAuthError,
    GHLBadRequestError,
    GHLConnectionError,
    GHLDailyLimitError,
    GHLNotFoundError,
    GHLPermissionError,
    GHLRateLimitError,
    GHLServerError,
    GHLTimeoutError,
    GHLValidationError,
)
from ghl.retry import RetryPolicy
from sandbox.ghl_emulator import DEFAULT_TOKEN, DEMO_LOCATION_ID


class Clock:
    def __init__(self):
        self.now = datetime(2027, 1, 15, 15, 0, tzinfo=UTC).timestamp()
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(round(seconds, 3))
        self.now += seconds


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def emu(make_emulator, clock):
    emulator = make_emulator(clock=clock)
    emulator.seed_demo(buyers=5, seed=1)
    return emulator


def client_for(emu, clock, *, token=DEFAULT_TOKEN, location=DEMO_LOCATION_ID, **kw):
    from ghl.ratelimit import MemoryBackend, RateLimiter

    limiter = kw.pop("limiter", None) or RateLimiter(
        MemoryBackend(), key=location, clock=clock, sleep=clock.sleep
    )
    return GHLClient(
        token=token,
        location_id=location,
        base_url=emu.url,
        limiter=limiter,
        sleep=clock.sleep,
        rand=lambda: 0.5,
        **kw,
    )


def _no_margin(clock):
    from ghl.ratelimit import MemoryBackend, RateLimiter

    return RateLimiter(
        MemoryBackend(), key=DEMO_LOCATION_ID, margin=0.0, clock=clock, sleep=clock.sleep
    )


# -- errors that are not retried ------------------------------------------------------------


def test_401_is_an_auth_error_naming_the_setting_and_is_not_retried(emu, clock):
    ghl = client_for(emu, clock, token="wrong-token-123456")
    with pytest.raises(GHLAuthError) as info:
        ghl.locations.get()
    assert info.value.status == 401 and "GHL_API_KEY" in str(info.value)
    assert "wrong-token-123456" not in str(info.value)
    assert emu.count("GET", "/locations/{locationId}") == 1 and clock.slept == []


def test_403_for_another_location(emu, clock):
    ghl = client_for(emu, clock, location="loc_other")
    with pytest.raises(GHLPermissionError, match="GHL_LOCATION_ID"):
        ghl.locations.get()


def test_404_is_not_found_and_not_retried(emu, clock):
    ghl = client_for(emu, clock)
    with pytest.raises(GHLNotFoundError) as info:
        ghl.contacts.get("no_such_contact_id_")
    assert info.value.path == "/contacts/no_such_contact_id_" and info.value.method == "GET"
    assert ghl.stats.requests == 1


def test_422_carries_ghls_messages(emu, clock):
    emu.expect_request_violations(1)
    ghl = client_for(emu, clock)
    with pytest.raises(GHLValidationError) as info:
        # straight through the transport: the resource methods never send this
        ghl.transport.request(
            "POST",
            "/opportunities/",
            version="2021-07-28",
            json={"locationId": DEMO_LOCATION_ID, "name": "x"},
            idempotent=False,
        )
    assert info.value.status == 422 and any("contactId" in m for m in info.value.messages)


def test_400_for_an_unknown_pipeline(emu, clock):
    ghl = client_for(emu, clock)
    contact = ghl.contacts.upsert({"email": "a@example.com"}).contact
    with pytest.raises(GHLBadRequestError):
        ghl.opportunities.create({"pipelineId": "nope", "contactId": contact.id, "name": "n"})


def test_wrong_version_header_is_rejected(emu, clock):
    emu.expect_request_violations(1)
    ghl = client_for(emu, clock)
    with pytest.raises((GHLBadRequestError, GHLValidationError)):
        ghl.transport.request(
            "GET", f"/locations/{DEMO_LOCATION_ID}", version="2021-04-15", idempotent=True
        )


# -- retried errors -----------------------------------------------------------------------


def test_5xx_on_a_read_backs_off_1_2_then_succeeds(emu, clock):
    emu.queue_fault("GET", "/locations/*", "server_error", times=2, status=503)
    ghl = client_for(emu, clock)
    assert ghl.locations.get().id == DEMO_LOCATION_ID
    assert clock.slept == [1.0, 2.0] and ghl.stats.retries == 2 and ghl.stats.requests == 3


def test_5xx_gives_up_after_the_configured_attempts(emu, clock):
    emu.queue_fault("GET", "/locations/*", "server_error", times=10, status=500)
    ghl = client_for(emu, clock, retry=RetryPolicy(max_retries=3, jitter=0))
    with pytest.raises(GHLServerError):
        ghl.locations.get()
    assert clock.slept == [1.0, 2.0, 4.0] and ghl.stats.requests == 4


def test_429_without_retry_after_while_headers_show_room_backs_off_briefly(emu, clock):
    emu.queue_fault("GET", "/locations/*", "rate_limit_no_retry_after", times=1)
    ghl = client_for(emu, clock)
    assert ghl.locations.get().id == DEMO_LOCATION_ID
    assert clock.slept == [1.0]  # not the seed's 60 s: GHL's headers said there was room


def test_429_with_retry_after_is_honoured(emu, clock):
    emu.queue_fault("GET", "/locations/*", "rate_limit", times=1)
    ghl = client_for(emu, clock)
    ghl.locations.get()
    assert len(clock.slept) == 1 and 0 < clock.slept[0] <= 10


def test_a_real_burst_429_waits_for_the_window(make_emulator, clock):
    emu = make_emulator(clock=clock, burst_max=5, burst_interval_ms=1_000)
    emu.seed_demo(buyers=1)
    # another client of the same location that does not share our limiter uses the window up
    other = client_for(emu, clock, limiter=_no_margin(clock))
    for _ in range(5):
        other.locations.get()
    ghl = client_for(emu, clock)
    assert ghl.locations.get().id == DEMO_LOCATION_ID  # 429 first, then waited, then served
    assert emu.stats["rate_limited"]["limit"] >= 1 and clock.slept and sum(clock.slept) <= 1.5


def test_daily_limit_429_is_not_retried(make_emulator, clock):
    emu = make_emulator(clock=clock, daily_max=3)
    emu.seed_demo(buyers=1)
    other = client_for(emu, clock, limiter=_no_margin(clock))
    for _ in range(3):
        other.locations.get()
    ghl = client_for(emu, clock)
    with pytest.raises(GHLDailyLimitError):
        ghl.locations.get()  # GHL's 429 with X-RateLimit-Daily-Remaining: 0
    assert ghl.stats.requests == 1 and clock.slept == []


def test_limiter_stops_before_the_daily_429(make_emulator, clock):
    emu = make_emulator(clock=clock, daily_max=100)
    emu.seed_demo(buyers=1)
    ghl = client_for(emu, clock)  # 3 % margin: the last 3 requests of the day are kept back
    with pytest.raises(GHLDailyLimitError, match="kept in reserve"):
        for _ in range(100):
            ghl.locations.get()
    assert ghl.stats.requests == 97 and ghl.stats.rate_limited == 0


def test_dropped_connection_on_a_read_is_retried(emu, clock):
    emu.queue_fault("GET", "/locations/*", "drop", times=1)
    ghl = client_for(emu, clock)
    assert ghl.locations.get().id == DEMO_LOCATION_ID and ghl.stats.retries == 1


def test_dropped_sms_send_is_not_repeated_blindly(emu, clock):
    ghl = client_for(emu, clock)
    contact = ghl.contacts.upsert({"email": "b@example.com", "phone": "+15125550199"}).contact
    emu.queue_fault("POST", "/conversations/messages", "drop_after_commit", times=1)
    with pytest.raises(GHLConnectionError) as info:
        ghl.conversations.send_sms(contact.id, "hello")
    assert info.value.request_sent is True
    assert len([m for m in emu.state.messages if m.contact_id == contact.id]) == 1  # sent once


def test_lost_response_on_task_create_finds_the_task_instead_of_duplicating(emu, clock):
    ghl = client_for(emu, clock)
    contact = ghl.contacts.upsert({"email": "c@example.com"}).contact
    emu.queue_fault("POST", "/contacts/*/tasks", "drop_after_commit", times=1)
    due = datetime.fromtimestamp(clock.now, UTC) + timedelta(hours=4)
    task = ghl.contacts.create_task(contact.id, title="Review hot deal", due=due)
    assert [t.id for t in ghl.contacts.tasks(contact.id)] == [task.id]


def test_5xx_on_opportunity_create_looks_then_creates_once(emu, clock):
    ghl = client_for(emu, clock)
    pipeline = ghl.opportunities.pipelines()[0]
    contact = ghl.contacts.upsert({"email": "d@example.com"}).contact
    emu.queue_fault("POST", "/opportunities/", "server_error", times=1, status=502)
    opp = ghl.opportunities.create(
        {"pipelineId": pipeline.id, "contactId": contact.id, "name": "MLS-7"}
    )
    # The look waited out GHL's search lag (on the shared clock) before trusting its miss.
    assert clock.slept.count(ghl.opportunities.search_settle_seconds) == 1
    made = [o.id for o in emu.state.opportunities.values() if o.contact_id == contact.id]
    assert made == [opp.id]


def test_lost_answer_on_opportunity_create_is_found_after_the_search_lag(emu, clock):
    ghl = client_for(emu, clock)
    pipeline = ghl.opportunities.pipelines()[0]
    contact = ghl.contacts.upsert({"email": "e@example.com"}).contact
    emu.queue_fault("POST", "/opportunities/", "drop_after_commit", times=1)
    assert emu.config.search_lag_seconds > 0  # GHL's default: search lags writes
    opp = ghl.opportunities.create(
        {"pipelineId": pipeline.id, "contactId": contact.id, "name": "MLS-8"}
    )
    made = [o.id for o in emu.state.opportunities.values() if o.contact_id == contact.id]
    assert made == [opp.id] and emu.count("POST", "/opportunities/") == 1


def test_slow_response_times_out_then_retries(emu, clock):
    emu.queue_fault("GET", "/locations/*", "slow", times=1, seconds=1.0)
    ghl = client_for(emu, clock, timeout=(1.0, 0.25))
    assert ghl.locations.get().id == DEMO_LOCATION_ID
    assert ghl.stats.errors == {} and ghl.stats.retries == 1


def test_slow_response_on_a_send_is_a_timeout_error(emu, clock):
    ghl = client_for(emu, clock, timeout=(1.0, 0.25))
    contact = ghl.contacts.upsert({"email": "e@example.com", "phone": "+15125550111"}).contact
    emu.queue_fault("POST", "/conversations/messages", "slow", times=1, seconds=1.0)
    with pytest.raises(GHLTimeoutError):
        ghl.conversations.send_sms(contact.id, "hi")


def test_connection_refused_is_safe_to_retry_even_for_a_create(clock):
    ghl = GHLClient(
        token="t" * 10,
        location_id="loc",
        base_url="http://127.0.0.1:9",
        sleep=clock.sleep,
        rand=lambda: 0.5,
        retry=RetryPolicy(max_retries=2),
    )
    with pytest.raises(GHLConnectionError) as info:
        ghl.contacts.add_note("c1", "x")
    assert info.value.request_sent is False and clock.slept == [1.0, 2.0]


def test_rate_limit_error_class_is_retryable():
    assert GHLRateLimitError.retryable and not GHLDailyLimitError.retryable
