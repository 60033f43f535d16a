"""`/deal match` in the sandbox once said "buyers synced -911 min ago": the sandbox's clock is
a simulated evening, behind the real one, while its buyer sync was stamped on the real clock.
The whole sandbox now runs on its injected clock, so the age is a true, non-negative one."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta

import pytest

from sandbox.run import run_scenario, start_sandbox
from tests.fixtures.bot import wait_for

pytestmark = pytest.mark.slow  # the whole sandbox scenario


def test_the_buyer_cache_age_in_the_sandbox_is_read_on_its_own_clock():
    # Hours behind the real clock, as the sandbox's 8:30 PM New York evening usually is.
    anchor = datetime.now(UTC) - timedelta(hours=15, minutes=11)
    start = datetime.now(UTC)

    def clock() -> datetime:
        return anchor + (datetime.now(UTC) - start)

    sandbox = start_sandbox(buyers=20, clock=clock)
    try:
        summary = run_scenario(sandbox)
        assert summary.hot_deals
        sandbox.driver.slash_command(text=f"match {summary.hot_deals[0]}", user_id="U0AGENT01")

        def answer() -> str | None:
            for message in sandbox.fake.ephemerals(user_id="U0AGENT01"):
                text = f"{message.text} {message.blocks}"
                if "buyers synced" in text:
                    return text
            return None

        text = wait_for(answer, timeout=30, what="the /deal match answer")
        age = re.search(r"buyers (?:synced (-?\d+) min ago|never synced)", text)
        assert age is not None and age[1] is not None, text
        assert 0 <= int(age[1]) < 5  # the scenario synced moments ago on the same clock
    finally:
        sandbox.close()
        shutil.rmtree(sandbox.workdir, ignore_errors=True)
