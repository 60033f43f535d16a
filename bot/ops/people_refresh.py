"""The `people_refresh` job: Slack users matched to GHL users by email, every
PEOPLE_REFRESH_MINUTES (and once at start), so `/deal whoami`, Claim and the owner select know
who is who without anyone keeping a file.

    run_people_refresh(slack=web, ghl=ghl, engine=engine, now=datetime.now(UTC))  # the work
    specs.append(people_refresh_spec(slack=web, ghl=ghl, engine=engine, every=timedelta(hours=1)))
"""

from __future__ import annotations

from datetime import datetime, timedelta

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.ops.scheduler import JobSpec
from bot.slack.people import PeopleReport, refresh_people
from ghl.client import GHLClient

JOB_PEOPLE = "people_refresh"


def run_people_refresh(
    *, slack: WebClient, ghl: GHLClient, engine: Engine, now: datetime
) -> PeopleReport:
    """One refresh; a refusal (missing scope) is in the report and the log, never raised, so
    the scheduler keeps the job and the last good matches stay."""
    return refresh_people(slack=slack, ghl=ghl, engine=engine, now=now)


def people_refresh_spec(
    *, slack: WebClient, ghl: GHLClient, engine: Engine, every: timedelta
) -> JobSpec:
    """The job's schedule entry (see `bot.ops.jobs.build_job_specs`)."""

    def run(now: datetime) -> None:
        run_people_refresh(slack=slack, ghl=ghl, engine=engine, now=now)

    return JobSpec(
        id=JOB_PEOPLE, run=run, every=every, lease=timedelta(minutes=10),
        run_when_first_scheduled=True,
    )  # fmt: skip
