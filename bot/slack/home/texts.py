"""Every text of the Home tab and of GHL link previews, as small functions
(bot.slack.messages style).

Outside text is escaped here or by the caller (`bot.slack.escape`); numbers and our own words only
go into plain-text headers.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.slack.escape import escape, one_line
from bot.slack.messages import ROLE_NAMES, money
from services.pipeline.rules import NAME_SEPARATOR

HOME_TITLE = "DealFinder"
UNFURL_NOT_OURS = (
    ":grey_question: Not a DealFinder deal: DealFinder has no deal for this GHL record."
)


def updated(now: datetime) -> str:
    """When the tab was built, in the reader's own time zone."""
    return f"Updated {slack_date(now)}"


def role_line(role: str) -> str:
    return f"You are {ROLE_NAMES.get(role, escape(role))} in DealFinder."


def no_role() -> str:
    return (
        ":lock: DealFinder does not list you as a team member, so it shows no deals here. "
        "Ask an admin to add your Slack user to the roles file (`DEALFINDER_ROLES_FILE`)."
    )


def claimed_heading(count: int) -> str:
    return f"Your claimed deals ({count})"


def nothing_claimed() -> str:
    return "You have not claimed a deal. Click *Claim* on a hot deal to make it yours."


def hot_heading(count: int) -> str:
    return f"Today's hot deals ({count})"


def no_hot_deals() -> str:
    return "No hot deal came in today yet."


def deal_line(
    *,
    title: str,
    mls_id: str,
    score: int | None,
    price: int | None,
    stage: str | None,
    owner: str | None,
) -> str:
    """One deal in a list: the title (already safe), then score, price, stage and owner."""
    facts = [
        f"score {score}" if score is not None else "score —",
        money(price),
        escape(stage or "stage —"),
        f"owner {escape(owner)}" if owner else "no owner",
    ]
    return f"{title} · `{escape(mls_id)}`\n" + " · ".join(facts)


def tasks_heading(count: int | None) -> str:
    return "Tasks due for you" if count is None else f"Tasks due for you ({count})"


def no_ghl_user() -> str:
    return (
        ":warning: Your Slack user is not linked to a GHL user, so DealFinder cannot find your "
        "GHL tasks (and Claim cannot assign deals to you). Ask an admin to add you to the roles "
        "file's `ghl_users` with your GHL email."
    )


def unknown_ghl_email(email: str) -> str:
    return (
        f":warning: No GHL user has the email {escape(email)} that the roles file gives you. "
        "Ask an admin to fix `ghl_users` in the roles file, or to add that user in GHL."
    )


def no_tasks() -> str:
    return "No open GHL task is assigned to you on your deals."


def slack_date(at: datetime) -> str:
    """A moment shown in each reader's own time zone (Slack's date formatting)."""
    fallback = f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def task_line(*, title: str, mls_id: str, due: datetime | None, overdue: bool) -> str:
    """One task: GHL task titles end with " — MLS"; the MLS id is shown once, as code."""
    name = title.removesuffix(f"{NAME_SEPARATOR}{mls_id}")
    when = f"due {slack_date(due)}" if due else "no due date"
    flag = ":alarm_clock: *overdue* " if overdue else ""
    return f"• {flag}{one_line(name, 150)} — `{escape(mls_id)}`, {when}"


def tasks_deferred() -> str:
    return (
        ":hourglass: GHL is busy right now, so your tasks are left out to keep its rate limit for "
        "deal work; they show when you open this tab again in a minute."
    )


def tasks_unreadable(problem: str) -> str:
    return f":warning: GHL could not be read for your tasks: {one_line(problem, 300)}"


def pipeline_heading(total: int) -> str:
    return f"Pipeline by stage ({total} open deals)"


def stage_line(name: str, count: int) -> str:
    return f"• {escape(name)}: *{count}*"


def empty_pipeline() -> str:
    return "No open deal in the pipeline yet."


def waiting_heading(failed: int) -> str:
    return f"Waiting for a person ({failed})"


def nothing_waiting() -> str:
    return ":large_green_circle: Nothing in the outbox waits for a person."


def waiting_line(item_id: int | None, kind: str, reason: str | None) -> str:
    return f"• `{item_id}` {escape(kind)} — {one_line(reason or 'no reason recorded', 200)}"


def waiting_hint() -> str:
    return (
        "Settle them on the server with `dealfinder outbox` after a look in GHL "
        "(`/ghl outbox` lists them)."
    )


def health_heading() -> str:
    return "GHL health"


def health_line(state: str | None, checked_at: datetime | None) -> str:
    if state is None or checked_at is None:
        return ":grey_question: No health check has run yet (`/ghl health` runs one)."
    icon = {"healthy": ":large_green_circle:", "degraded": ":large_yellow_circle:"}.get(
        state, ":red_circle:"
    )
    return f"{icon} GHL was *{escape(state)}* at the last check ({slack_date(checked_at)})."


def unfurl_title(title: str, mls_id: str) -> str:
    return f"{title} · MLS `{escape(mls_id)}`"
