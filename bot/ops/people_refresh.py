"""The `people_refresh` job: Slack users matched to GHL users by email, every
PEOPLE_REFRESH_MINUTES (and once at start), so `/deal whoami`, Claim and the owner select know
who is who without anyone keeping a file.

    run_people_refresh(slack=web, ghl=ghl, engine=engine, now=datetime.now(UTC))  # the work

Scheduled by the job table, `bot.ops.jobs.JOBS`.
"""

from __future__ import annotations

from datetime import datetime

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.slack.people import PeopleReport, refresh_people
from ghl.client import GHLClient

JOB_PEOPLE = "people_refresh"


def run_people_refresh(
    *, slack: WebClient, ghl: GHLClient, engine: Engine, now: datetime
) -> PeopleReport:
    """One refresh; a refusal (missing scope) is in the report and the log, never raised, so
    the scheduler keeps the job and the last good matches stay."""
    return refresh_people(slack=slack, ghl=ghl, engine=engine, now=now)
