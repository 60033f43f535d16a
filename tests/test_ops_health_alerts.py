"""The alert policy as a pure function: parameter tables of before / findings / now -> message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.ops.health_alerts import (
    DEGRADED,
    DOWN,
    HEALTHY,
    AlertMemory,
    ComponentState,
    Finding,
    decide_alert,
    duration,
)

T0 = datetime(2027, 1, 15, 15, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
MIN = timedelta(minutes=1)

OUTBOX = Finding("outbox", DEGRADED, "3 item(s) due, the oldest waiting 41 min", "run a worker")
GHL_DOWN = Finding("ghl", DOWN, "GHL refused the token (401)", "check GHL_API_KEY")
QUOTA = Finding("ghl_quota", DEGRADED, "only 6% of today's GHL quota left", "pause imports")


def memory(overall: str, since: datetime, alerted: datetime | None = None, **parts: str):
    components = {name: ComponentState(level, since) for name, level in parts.items()}
    return AlertMemory(overall=overall, since=since, last_alerted_at=alerted, components=components)


CASES = [
    # (name, before, findings, now, kind, new overall)
    ("first check, all well", None, [], T0, "none", HEALTHY),
    ("first check, a problem", None, [OUTBOX], T0, "alert", DEGRADED),
    ("healthy stays healthy", memory(HEALTHY, T0), [], T0 + 5 * HOUR, "none", HEALTHY),
    ("healthy -> degraded", memory(HEALTHY, T0), [OUTBOX], T0 + MIN, "alert", DEGRADED),
    (
        "degraded holds, before reminder",
        memory(DEGRADED, T0, T0, outbox=DEGRADED),
        [OUTBOX],
        T0 + 59 * MIN,
        "none",
        DEGRADED,
    ),
    (
        "degraded holds, reminder due",
        memory(DEGRADED, T0, T0, outbox=DEGRADED),
        [OUTBOX],
        T0 + 60 * MIN,
        "reminder",
        DEGRADED,
    ),
    (
        "degraded -> down",
        memory(DEGRADED, T0, T0, outbox=DEGRADED),
        [OUTBOX, GHL_DOWN],
        T0 + 5 * MIN,
        "alert",
        DOWN,
    ),
    (
        "down -> degraded (GHL back, outbox still stuck)",
        memory(DOWN, T0, T0, outbox=DEGRADED, ghl=DOWN),
        [OUTBOX],
        T0 + 10 * MIN,
        "alert",
        DEGRADED,
    ),
    (
        "same level, another component fails",
        memory(DEGRADED, T0, T0, outbox=DEGRADED),
        [OUTBOX, QUOTA],
        T0 + MIN,
        "alert",
        DEGRADED,
    ),
    ("down -> healthy", memory(DOWN, T0, T0, ghl=DOWN), [], T0 + 20 * MIN, "recovery", HEALTHY),
    (
        "a finding listed twice counts once",
        memory(HEALTHY, T0),
        [OUTBOX, OUTBOX],
        T0,
        "alert",
        DEGRADED,
    ),
]


@pytest.mark.parametrize(
    ("before", "findings", "now", "kind", "overall"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_decide_alert(before, findings, now, kind, overall):
    decision = decide_alert(previous=before, findings=findings, now=now, reminder_after=HOUR)
    assert decision.kind == kind
    assert decision.memory.overall == overall
    assert (decision.text is None) == (kind == "none")
    if kind != "none":
        assert decision.memory.last_alerted_at == now
    elif before is not None:
        assert decision.memory.last_alerted_at == before.last_alerted_at


def test_since_is_kept_while_a_state_holds_and_moves_when_it_changes():
    first = decide_alert(previous=None, findings=[OUTBOX], now=T0, reminder_after=HOUR)
    held = decide_alert(
        previous=first.memory, findings=[OUTBOX], now=T0 + 30 * MIN, reminder_after=HOUR
    )
    assert held.memory.since == T0 and held.memory.components["outbox"].since == T0
    worse = decide_alert(
        previous=held.memory, findings=[OUTBOX, GHL_DOWN], now=T0 + 40 * MIN, reminder_after=HOUR
    )
    assert worse.memory.since == T0 + 40 * MIN
    assert worse.memory.components["outbox"].since == T0  # the outbox problem is older


def test_an_alert_says_what_failed_since_when_and_the_fix():
    before = memory(DEGRADED, T0, T0, outbox=DEGRADED)
    decision = decide_alert(
        previous=before, findings=[OUTBOX, GHL_DOWN], now=T0 + 12 * MIN, reminder_after=HOUR
    )
    text = decision.text
    assert text.startswith(":red_circle: *DealFinder is DOWN* (since 2027-01-15 15:12 UTC)")
    assert "*GHL API* (down, since 2027-01-15 15:12 UTC, 0 s): GHL refused the token" in text
    assert "Fix: check GHL_API_KEY" in text
    assert "(degraded, since 2027-01-15 15:00 UTC, 12 min)" in text
    assert text.index("GHL API") < text.index("Outbox")  # the worst first


def test_a_recovery_says_how_long_the_incident_lasted():
    before = AlertMemory(
        overall=DOWN,
        since=T0 + 10 * MIN,
        last_alerted_at=T0 + 10 * MIN,
        components={
            "outbox": ComponentState(DEGRADED, T0),
            "ghl": ComponentState(DOWN, T0 + 10 * MIN),
        },
    )
    decision = decide_alert(previous=before, findings=[], now=T0 + 75 * MIN, reminder_after=HOUR)
    assert decision.kind == "recovery"
    assert "healthy again after 1 h 15 min (unhealthy since 2027-01-15 15:00 UTC)" in decision.text
    assert "GHL API was down for 1 h 5 min" in decision.text


def test_reminders_repeat_every_interval_not_every_check():
    state = decide_alert(previous=None, findings=[GHL_DOWN], now=T0, reminder_after=HOUR).memory
    kinds = []
    for minutes in range(5, 181, 5):  # a check every 5 minutes for 3 hours
        decision = decide_alert(
            previous=state, findings=[GHL_DOWN], now=T0 + minutes * MIN, reminder_after=HOUR
        )
        state = decision.memory
        if decision.kind != "none":
            kinds.append((minutes, decision.kind))
    assert kinds == [(60, "reminder"), (120, "reminder"), (180, "reminder")]
    assert "*Still DOWN* since 2027-01-15 15:00 UTC (3 h)" in decision.text


def test_slack_control_characters_in_problems_are_escaped():
    nasty = Finding("ghl", DOWN, "GHL said <!channel> & <https://x|y>", "see <docs>")
    text = decide_alert(previous=None, findings=[nasty], now=T0, reminder_after=HOUR).text
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp; &lt;https://x|y&gt;" in text
    assert "see &lt;docs&gt;" in text


def test_a_finding_is_degraded_or_down():
    with pytest.raises(ValueError, match="degraded or down"):
        Finding("ghl", HEALTHY, "fine", "none")


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(seconds=45), "45 s"),
        (12 * MIN, "12 min"),
        (HOUR, "1 h"),
        (125 * MIN, "2 h 5 min"),
        (timedelta(days=3, hours=4), "3 d 4 h"),
        (timedelta(days=2), "2 d"),
    ],
)
def test_duration(span, text):
    assert duration(span) == text
