"""What DealFinder says about people (`/deal whoami`) and about edits made from Slack.

Kept beside `bot.slack.messages` (same rules: small functions returning mrkdwn, outside values
escaped) so the sentences of issue 15 live in one place.

    whoami_matched(name="Maria", email="maria@x.com", ghl_user_id="u1", how="email", ...)
    no_ghl_user(slack_email="ari@x.com", whose="your")
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.slack.escape import escape, one_line
from bot.slack.messages import ACTION_NAMES, ROLE_NAMES, mention

_HOW = {
    "email": "your Slack email is this GHL user's email",
    "override": "the roles file's `ghl_users` names this GHL user for you",
}


def _can(permissions: Sequence[str]) -> str:
    doing = [ACTION_NAMES.get(p, p) for p in permissions if p != "deal.whoami"]
    return ", ".join(doing) if doing else "nothing yet"


def whoami_matched(
    *, name: str | None, email: str, ghl_user_id: str | None, how: str, role: str,
    permissions: Sequence[str],
) -> str:  # fmt: skip
    """`/deal whoami` for a user DealFinder knows in GHL."""
    who = escape(name or email)
    user_id = f"`{escape(ghl_user_id)}`" if ghl_user_id else "not found in GHL"
    return (
        f"*In GHL you are {who}* ({escape(email)}, GHL user id {user_id}): "
        f"{_HOW.get(how, escape(how))}.\n"
        f"*Role:* {ROLE_NAMES.get(role, escape(role))}. *You may:* {_can(permissions)}."
    )


def no_ghl_user(*, slack_email: str | None, whose: str = "your") -> str:
    """How to connect a Slack user to their GHL user (whose: "your", or a mention)."""
    seen = (
        f"{whose} Slack email ({escape(slack_email)}) is not the email of any GHL user"
        if slack_email
        else f"Slack does not show DealFinder {whose} email"
    )
    return (
        f":warning: DealFinder does not know which GHL user that is: {seen}. To fix it, use "
        "the same email in Slack and in GHL (matches are refreshed on a schedule), or ask an "
        "admin to add the Slack user id and the GHL email under `ghl_users` in the roles file "
        "(DEALFINDER_ROLES_FILE)."
    )


def whoami_unmatched(*, slack_email: str | None, role: str, permissions: Sequence[str]) -> str:
    """`/deal whoami` for a user with no GHL user: who they are not, and the fix."""
    return (
        no_ghl_user(slack_email=slack_email)
        + f"\n*Role:* {ROLE_NAMES.get(role, escape(role))}. *You may:* {_can(permissions)}."
    )


def unknown_stage(stage: str, stages: Sequence[str], *, usage: str) -> str:
    """A stage the pipeline does not have: the valid names, then `/deal stage`'s `usage`."""
    names = ", ".join(f"`{escape(s)}`" for s in stages) or "(the pipeline has no stages)"
    return (
        f":warning: `{one_line(stage, 100)}` is not a stage of the pipeline. Stages: {names}.\n"
        f"Usage: {usage}"
    )


def edit_problem(code: str, mls_id: str) -> str:
    """Why an edit did not happen (codes of `services.deal_edits.EditOutcome`)."""
    deal = f"`{one_line(mls_id, 64)}`"
    return {
        "unknown_deal": f"No deal {deal} in DealFinder; check the MLS id with `/deal show`.",
        "no_opportunity": f"Deal {deal} has no GHL opportunity yet, so nothing was changed.",
        "empty_note": "The note is empty; nothing was saved.",
        "bad_status": "A deal can only be marked won or lost.",
    }.get(code, f"Nothing was changed on {deal} ({escape(code)}).")


def stage_moved(mls_id: str, stage: str, *, unchanged: bool) -> str:
    deal = f"`{one_line(mls_id, 64)}`"
    if unchanged:
        return f"{deal} is already in stage *{escape(stage)}*; nothing changed."
    return f":white_check_mark: Moved {deal} to *{escape(stage)}* in GHL."


def owner_changed(mls_id: str, owner: str, *, unchanged: bool) -> str:
    deal = f"`{one_line(mls_id, 64)}`"
    if unchanged:
        return f"{escape(owner)} already owns {deal}; nothing changed."
    return f":white_check_mark: {escape(owner)} now owns {deal} in GHL."


def closed(mls_id: str, status: str, *, unchanged: bool) -> str:
    deal = f"`{one_line(mls_id, 64)}`"
    if unchanged:
        return f"{deal} is already marked {escape(status)}; nothing changed."
    return f":white_check_mark: Marked {deal} *{escape(status)}* in GHL."


def note_added(mls_id: str) -> str:
    return f":white_check_mark: Note saved in GHL on the contact of `{one_line(mls_id, 64)}`."


def thread_entry(kind: str, *, user_id: str, detail: str = "") -> str:
    """One line in the deal's thread saying who changed what (detail already escaped)."""
    who = mention(user_id)
    return {
        "stage": f":arrow_right: {who} moved the deal to stage *{detail}*.",
        "owner": f":bust_in_silhouette: {who} made {detail} the owner.",
        "won": f":trophy: {who} marked the deal *won*.",
        "lost": f":x: {who} marked the deal *lost*.",
        "note": f":memo: {who} added a note in GHL: {detail}",
    }[kind]
