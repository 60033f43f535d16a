"""Every sentence DealFinder says in Slack, as small functions (one place to reword or translate).

Functions return Slack `mrkdwn`. Values from users or GHL are escaped here with `bot.slack.escape`,
so a hostile address or name is shown literally and never pings a channel.

    usage_code("/deal match MLS-ID")  # a usage as Slack shows it (bot.slack.listeners.registry)
    refused("deal.notify", role)  # why a user may not do something
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from bot.slack.escape import escape, one_line

ROLE_NAMES = {"none": "not on the team list", "agent": "an agent", "broker": "a broker",
              "admin": "an admin"}  # fmt: skip
REQUIRED_NAMES = {"agent": "team members", "broker": "brokers and admins", "admin": "admins"}
ACTION_NAMES = {
    "deal.show": "look up deals", "deal.add": "add deals", "deal.match": "match buyers",
    "deal.hot": "list hot deals", "deal.claim": "claim deals",
    "deal.location": "name another location",
    "deal.claim_override": "take over claimed deals", "deal.pass": "pass on deals",
    "deal.notify": "text buyers", "ghl.health": "check GHL", "ghl.validate": "validate GHL",
    "ghl.outbox": "see the outbox", "optout.decide": "decide possible opt-outs",
    "deal.whoami": "ask who they are", "deal.stage": "move deals between stages",
    "deal.note": "add notes to deals", "deal.reassign": "reassign deals",
    "deal.close": "mark deals won or lost",
}  # fmt: skip


def money(value: int | float | None) -> str:
    return "—" if value is None else f"${value:,.0f}"


def mention(user_id: str | None) -> str:
    """A Slack user mention; only ids Slack gave us (U…/W…) are turned into mentions."""
    if user_id and user_id[:1] in ("U", "W") and user_id.isalnum():
        return f"<@{user_id}>"
    return escape(user_id or "someone")


def usage_code(line: str) -> str:
    """A subcommand's usage as code; forms are separated by "  _or_  " in the usage line."""
    # Each form in its own code span: Slack shows "_or_" inside one literally.
    return " _or_ ".join(f"`{form}`" for form in line.split("  _or_  "))


def help_list(entries: Iterable[tuple[str, str]]) -> str:
    """The help: one line per (usage, what it does), in the order given."""
    lines = ["*DealFinder commands*"]
    lines += [f"• {usage_code(line)} — {what}" for line, what in entries]
    return "\n".join(lines)


def malformed(problem: str, *, usage: str | None, everything: str) -> str:
    """A malformed command: what is wrong, then the exact usage (or, without one, the help)."""
    head = f":warning: {escape(problem)}."
    if usage is None:
        return f"{head}\n{everything}"
    return f"{head}\nUsage: {usage_code(usage)}"


def working(what: str) -> str:
    return f":hourglass_flowing_sand: {what}…"


def refused(permission: str, role: str | None, required: str) -> str:
    doing = ACTION_NAMES.get(permission, "do that")
    who = ROLE_NAMES.get(str(role or "none"), "not on the team list")
    return (
        f":no_entry: Only {REQUIRED_NAMES.get(required, required)} can {doing}; you are {who}. "
        "Ask an admin to change the roles file (DEALFINDER_ROLES_FILE) if that is wrong."
    )


def form_damaged() -> str:
    return (
        ":warning: This form's data could not be read (it was changed on the way), so nothing "
        "was saved. Close it and type `/deal add` to open a new one."
    )


def unknown_deal(query: str) -> str:
    return (
        f"No deal matches `{one_line(query, 80)}`. Try `/deal hot`, an exact MLS id, or add it "
        "with `/deal add`."
    )


def several_deals(query: str, mls_ids: Sequence[str]) -> str:
    found = ", ".join(f"`{escape(m)}`" for m in mls_ids[:10])
    return f"Several deals match `{one_line(query, 80)}`: {found}. Say which MLS id."


def ghl_down(state: str, problems: Sequence[str]) -> str:
    why = "; ".join(one_line(p, 300) for p in problems) or "no answer"
    return f":red_circle: GHL is {escape(state)}: {why}. Nothing was changed; try again shortly."


def ghl_map_problem(text: str) -> str:
    return f":warning: GHL does not match the mapping file:\n{escape(text)[:2500]}"


def internal_error(reference: str) -> str:
    return (
        f":x: Something went wrong on our side (reference `{escape(reference)}`); it is logged "
        "and nothing half-done was repeated. Try again, or tell an admin the reference."
    )


def unknown_action(commands: str) -> str:
    """An old or unknown button: `commands` is the help (`registry.help_text()`)."""
    return (
        ":warning: That button belongs to an older version of DealFinder and does nothing now. "
        f"Use the commands instead:\n{commands}"
    )


# -- deals --------------------------------------------------------------------------------


def deal_title(address: str, city: str | None, state: str | None, zip_code: str | None) -> str:
    place = ", ".join(p for p in (address, city, " ".join(filter(None, (state, zip_code)))) if p)
    return f"*{one_line(place, 250)}*"


def replies_thread_summary(card: Any, mls_id: str) -> str:
    """The first message of a deal's replies thread (a `services.desk.DealCard` or None)."""
    if card is None:
        return f":speech_balloon: Buyer replies about deal `{one_line(mls_id, 60)}`"
    parts = [
        deal_title(card.address or card.mls_id, card.city, card.state, card.zip),
        money(card.price),
        f"deal score {card.score if card.score is not None else '—'}",
    ]
    if card.opportunity_url:
        parts.append(f"<{escape(card.opportunity_url)}|Open in GHL>")
    return (
        f":speech_balloon: Buyer replies about {' · '.join(parts)}\n"
        f"Replies from buyers texted about `{one_line(mls_id, 60)}` land in this thread."
    )


def score_line(score: int | None, hot: bool) -> str:
    if score is None:
        return "score —"
    return f":fire: Hot deal · score {score}" if hot else f"Deal · score {score}"


def claimed_line(claimed_by: str | None) -> str:
    return mention(claimed_by) if claimed_by else "nobody yet"


def passed_line(passed_by: Sequence[str]) -> str:
    return "Passed by " + ", ".join(mention(u) for u in passed_by)


def notified_line(notified: int, queued: int, excluded: int = 0) -> str:
    text = f"{notified} texted"
    text += f", {queued} waiting" if queued else ""
    return text + (f", {excluded} excluded" if excluded else "")


def buyers_heading(count: int) -> str:
    return f"*Top matched buyers ({count})*" if count else "*No matched buyers yet*"


def buyer_line(rank: int, name: str, score: int) -> str:
    return f"{rank}. {one_line(name, 80)} — {score}/100"


def add_result(action: str, mls_id: str, reason: str) -> str:
    verbs = {
        "created": "created in GHL",
        "updated": "updated in GHL",
        "skipped": "already in GHL, unchanged",
        "failed": "could not be saved in GHL",
    }
    text = f"Deal `{escape(mls_id)}` {verbs.get(action, escape(action))}"
    return text + (f": {one_line(reason, 500)}" if reason else ".")


def add_details(stage: str | None, owner: str | None, tasks: Sequence[str]) -> str:
    lines = [f"*Stage:* {one_line(stage or '—', 100)}", f"*Owner:* {one_line(owner or '—', 100)}"]
    if tasks:
        lines.append("*Tasks:* " + "; ".join(one_line(t, 120) for t in tasks))
    return "\n".join(lines)


def hot_heading(count: int, day: str) -> str:
    return f"*Hot deals today ({escape(day)}): {count}*" if count else "No hot deals yet today."


def hot_line(score: int | None, title: str, stage: str | None, owner: str | None) -> str:
    where = one_line(stage or "no stage", 60)
    who = one_line(owner or "no owner", 60)
    return f"*{score}* · {title} · {where} · {who}"


# -- matching and notifying ---------------------------------------------------------------


def match_heading(mls_id: str, title: str, total: int, min_score: int) -> str:
    return f"*Buyers for `{escape(mls_id)}`* — {title} — {total} at ≥ {min_score}"


def match_buyer(rank: int, name: str, score: int, reasons: Sequence[str]) -> str:
    head = f"*{rank}. {one_line(name, 80)}* — {score}/100"
    return "\n".join([head, *(f"• {one_line(r, 300)}" for r in reasons)])


def no_matches(min_score: int) -> str:
    return f"No buyer scores {min_score} or more for this deal."


def not_texted(name: str, reason: str) -> str:
    return f"• {one_line(name, 80)} — {one_line(reason, 200)}"


def freshness(text: str, excluded: int) -> str:
    noun = "buyer" if excluded == 1 else "buyers"
    extra = f"; {excluded} {noun} kept out of matching by bad data in GHL" if excluded else ""
    return f"{escape(text)}{extra}"


def notify_heading(mls_id: str) -> str:
    return f"*Text buyers about `{escape(mls_id)}`?* Nothing is sent until you confirm."


def group_heading(group: str, count: int) -> str:
    names = {"send_now": "Texted now", "deferred": "Later (each one's reason and time below)",
             "excluded": "Not texted", "already": "Already texted or queued"}  # fmt: skip
    return f"*{names[group]} ({count})*"


def plan_conclusion(text: str) -> str:
    """The answer before the lists: "*12 will be texted now, 5 later, 3 not*"."""
    return f"*{escape(text)}*"


def more(count: int) -> str:
    return f"… and {count} more"


def nobody_to_text() -> str:
    return "Nobody can be texted about this deal: see the reasons above."


def notify_done(queued: int, deferred: int, excluded: int, sent: int, skipped: int) -> str:
    return (
        f":white_check_mark: Buyers notified: {sent} texted now, {queued - sent} queued, "
        f"{deferred} later (quiet hours, a state rule or the daily cap; see Notify buyers), "
        f"{excluded} not texted, {skipped} already done."
    )


def notify_cancelled() -> str:
    return "Cancelled: no buyer was texted."


# -- claims and passes --------------------------------------------------------------------

CLAIM_TEXTS = {
    "claimed": "You claimed `{mls}`; it is assigned to {owner} in GHL.",
    "already_yours": "`{mls}` is already yours (assigned to {owner} in GHL).",
    "taken_over": "You took `{mls}` over from {previous}; it is assigned to {owner} in GHL.",
    "claimed_by_other": "`{mls}` is claimed by {previous}; only brokers and admins can take "
    "it over.",
    "unknown_deal": "There is no deal `{mls}` in DealFinder.",
    "no_opportunity": "`{mls}` has no GHL opportunity yet; run `/deal add` for it first.",
    "no_ghl_user": "Your Slack user is not mapped to a GHL user, so `{mls}` cannot be assigned "
    "to you. Ask an admin to add you under ghl_users in the roles file.",
}


def claim_result(code: str, mls_id: str, previous: str | None, owner: str | None) -> str:
    template = CLAIM_TEXTS.get(code, "Claim of `{mls}`: {code}")
    return template.format(
        mls=escape(mls_id), owner=one_line(owner or "you", 80), previous=mention(previous),
        code=escape(code),
    )  # fmt: skip


def passed(mls_id: str) -> str:
    return f"Noted: you passed on `{escape(mls_id)}`."


# -- GHL health and validation ------------------------------------------------------------


def health_heading(state: str) -> str:
    icon = {"healthy": ":large_green_circle:", "degraded": ":large_yellow_circle:"}.get(
        state, ":red_circle:"
    )
    return f"{icon} *GHL is {escape(state)}*"


def headroom(
    burst: int | None, burst_max: int | None, daily: int | None, daily_max: int | None
) -> str:
    parts = []
    if burst_max:
        parts.append(f"burst {burst}/{burst_max}")
    if daily_max:
        parts.append(f"daily {daily:,}/{daily_max:,}")
    return "Rate-limit headroom: " + (", ".join(parts) if parts else "not known yet")


def validate_heading(ok: bool, failures: int, location: str | None) -> str:
    where = one_line(location or "the location", 80)
    if ok:
        return f":white_check_mark: *GHL setup of {where} matches the mapping*"
    return f":x: *GHL setup of {where}: {failures} problem(s)*"


def check_row(ok: bool, check: str, detail: str, fix: str) -> str:
    icon = ":white_check_mark:" if ok else ":x:"
    text = f"{icon} {one_line(check, 150)} — {one_line(detail, 300)}"
    return text + (f"\n      ↳ {one_line(fix, 400)}" if fix and not ok else "")


# -- the add form -------------------------------------------------------------------------

FORM_TITLE = "Add a deal"
FORM_SUBMIT = "Analyse"
FORM_LABELS = {
    "mls_id": "MLS id", "address": "Street address", "city": "City", "state": "State (2 letters)",
    "zip": "ZIP", "list_price": "List price ($)", "deal_score": "Deal score (0-100)",
    "seller_contact": "Seller/agent email or phone", "arv": "ARV ($)",
    "est_profit": "Estimated profit ($)", "beds": "Beds", "baths": "Baths",
    "property_type": "Property type", "seller_name": "Seller/agent name",
    "analysis_notes": "Analysis notes",
}  # fmt: skip
