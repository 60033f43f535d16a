"""The `optout_reviews` job: possible opt-outs nobody decided in 24 hours become opt-outs, and
reviews Slack did not take yet are posted again. Every minute, like the SMS release.

    settle_optout_reviews(engine=engine, client=ghl, rules=rules, config=config,
                          now=datetime.now(UTC), poster=poster)      # what the job runs

Scheduled by the job table, `bot.ops.jobs.JOBS`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from ghl.client import GHLClient
from matching.notify import NotifyRules
from services.config import DealConfig
from services.optout.decisions import ReviewDecision, expire_reviews

JOB_OPTOUT_REVIEWS = "optout_reviews"


def settle_optout_reviews(
    *,
    engine: Engine,
    client: GHLClient,
    rules: NotifyRules,
    config: DealConfig,
    now: datetime,
    poster: Any = None,
    worker_id: str | None = None,
) -> list[ReviewDecision]:
    """Opt out every buyer whose possible opt-out passed its decide-by time undecided, show
    it on the Slack message, and post reviews still missing from Slack (`poster`: a
    `bot.slack.optout_review.OptoutReviewPoster`, None without Slack)."""
    decided = expire_reviews(
        engine=engine, client=client, rules=rules, config=config, now=now, worker_id=worker_id
    )
    if poster is not None:
        for done in decided:
            poster.show_decision(done.review)
        poster.post()
    return decided
