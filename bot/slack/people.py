"""People by email: which GHL user each Slack user is, with nobody keeping a file.

A Slack user and a GHL user whose emails are the same (case ignored) are the same person. The
`people_refresh` job (`bot.ops.people_refresh`) asks Slack for every GHL user's email
(`users.lookupByEmail`, scope `users:read.email`) and keeps the matches in the store's
`people` table; the roles file's `ghl_users` stays as an override for the few whose emails
differ (`RoleDirectory.ghl_email` asks the override first, then this directory).

    report = refresh_people(slack=web, ghl=ghl, engine=engine, now=now)   # what the job runs
    PeopleDirectory(engine).ghl_email("U0AGENT01")                        # "ari@x.com" or None
    who = whoami(slack=web, ghl_users=users, user_id="U0AGENT01", override=None, stored=row)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import Engine
from sqlmodel import col, delete, select

from ghl.client import GHLClient
from ghl.models import User
from store.db import session_scope
from store.models_people import PersonLink

log = logging.getLogger("dealfinder.bot.people")

EMAIL_SCOPE = "users:read.email"


def fold_email(email: str | None) -> str:
    return (email or "").strip().lower()


@dataclass(frozen=True)
class Match:
    """A Slack user matched to a GHL user."""

    slack_user_id: str
    email: str
    ghl_user_id: str
    ghl_name: str | None


def match_by_email(
    *, slack_ids: Mapping[str, str | None], ghl_users: Iterable[User]
) -> list[Match]:
    """Pure: GHL users paired with the Slack user Slack found for their email.

    `slack_ids`: folded GHL email -> the Slack user id with that email (None: nobody).
    A GHL user without an email, or with an email no Slack user has, matches nobody.
    """
    matches: dict[str, Match] = {}
    for user in ghl_users:
        email = fold_email(user.email)
        slack_id = slack_ids.get(email) if email else None
        if slack_id and slack_id not in matches:
            matches[slack_id] = Match(slack_id, email, user.id, user.name or None)
    return list(matches.values())


def choose_ghl_email(*, override: str | None, matched: str | None) -> tuple[str | None, str | None]:
    """Pure: the GHL email a Slack user acts as, and how it was found ("override" from the
    roles file wins over "email", the match; (None, None): no GHL user)."""
    if override:
        return fold_email(override), "override"
    if matched:
        return fold_email(matched), "email"
    return None, None


@dataclass
class PeopleReport:
    """What a refresh did."""

    matched: list[str] = field(default_factory=list)  # Slack user ids
    unmatched_emails: list[str] = field(default_factory=list)  # GHL emails nobody in Slack has
    removed: int = 0
    problem: str | None = None  # why the refresh stopped (a missing scope), if it did


def slack_id_for(slack: WebClient, email: str) -> str | None:
    """The Slack user with `email` (`users.lookupByEmail`), or None when Slack has none."""
    try:
        answer = slack.users_lookupByEmail(email=email)
    except SlackApiError as exc:
        if exc.response.get("error") == "users_not_found":
            return None
        raise
    user = answer.get("user") or {}
    return None if user.get("deleted") or user.get("is_bot") else str(user.get("id") or "")


def refresh_people(
    *, slack: WebClient, ghl: GHLClient, engine: Engine, now: datetime
) -> PeopleReport:
    """Match every GHL user to a Slack user by email and keep the matches (the job's work).

    The table is replaced only after every look-up answered, so a Slack outage or a missing
    scope half-way keeps the last good matches instead of forgetting people.
    """
    report = PeopleReport()
    users = [u for u in ghl.users.list() if fold_email(u.email)]
    slack_ids: dict[str, str | None] = {}
    try:
        for user in users:
            email = fold_email(user.email)
            slack_ids[email] = slack_id_for(slack, email)
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error == "missing_scope":
            report.problem = (
                f"Slack refused users.lookupByEmail: the app lacks the `{EMAIL_SCOPE}` scope; "
                "add it in the app's manifest and reinstall the app"
            )
        else:
            report.problem = f"Slack refused users.lookupByEmail ({error})"
        log.error("people refresh stopped, matches kept as they were: %s", report.problem)
        return report
    except (SlackClientError, OSError) as exc:
        report.problem = f"Slack did not answer ({type(exc).__name__})"
        log.error("people refresh stopped, matches kept as they were: %s", report.problem)
        return report
    matches = match_by_email(slack_ids=slack_ids, ghl_users=users)
    report.matched = [m.slack_user_id for m in matches]
    report.unmatched_emails = sorted(e for e, found in slack_ids.items() if not found)
    with session_scope(engine) as session:
        keep = [m.slack_user_id for m in matches]
        gone = session.exec(
            select(PersonLink).where(col(PersonLink.slack_user_id).not_in(keep))
        ).all()
        report.removed = len(gone)
        session.exec(delete(PersonLink).where(col(PersonLink.slack_user_id).not_in(keep)))
        for match in matches:
            row = session.get(PersonLink, match.slack_user_id) or PersonLink(
                slack_user_id=match.slack_user_id, email=match.email, ghl_user_id=match.ghl_user_id
            )
            row.email, row.ghl_user_id, row.ghl_name = (
                match.email,
                match.ghl_user_id,
                match.ghl_name,
            )
            row.refreshed_at = now
            session.add(row)
    log.info("people refresh: %d matched, %d GHL users without a Slack user, %d removed",
             len(matches), len(report.unmatched_emails), report.removed)  # fmt: skip
    return report


class PeopleDirectory:
    """Reads the matches the refresh keeps (one primary-key read per question)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def link(self, slack_user_id: str) -> PersonLink | None:
        with session_scope(self.engine, readonly=True) as session:
            row = session.get(PersonLink, slack_user_id)
            if row is not None:
                session.expunge(row)
            return row

    def ghl_email(self, slack_user_id: str) -> str | None:
        row = self.link(slack_user_id)
        return row.email if row else None


def slack_email(slack: WebClient, user_id: str) -> str | None:
    """The user's email as Slack has it (`users.info` shows it only with `users:read.email`);
    None when Slack does not say."""
    try:
        answer = slack.users_info(user=user_id)
    except (SlackApiError, SlackClientError, OSError) as exc:
        log.warning("users.info for %s failed: %s", user_id, type(exc).__name__)
        return None
    profile = (answer.get("user") or {}).get("profile") or {}
    return fold_email(profile.get("email")) or None
