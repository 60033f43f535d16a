"""Every listener of the bot, registered by one `register(app)` per listener group.

commands        /deal and /ghl (ack, then the work after the ack)
deal_buttons    Claim, Notify buyers, Open in GHL, Pass on the deal card
notify_buttons  Confirm / Cancel of the notification step
optout_buttons  Opt out / Not an opt-out on a possible opt-out
deal_edits      stage / owner selects, Won / Lost, Add note on the deal card (issue 15)
views           the add form's submission
slack_events    link_shared (previews of GHL links) and app_home_opened (the Home tab)
fallback        unknown buttons and modals (last: it matches everything)
errors          the app's error handler
"""

from __future__ import annotations

from slack_bolt import App


def register_listeners(app: App) -> None:
    # Imported here: importing `bot.slack.listeners` for one helper does not pull in every listener.
    from bot.slack.listeners import (
        commands,
        deal_buttons,
        deal_edits,
        errors,
        fallback,
        notify_buttons,
        optout_buttons,
        slack_events,
        views,
    )

    slack_events.register(app)  # Events API only: no action or view reaches these
    for group in (
        commands,
        deal_buttons,
        deal_edits,
        notify_buttons,
        optout_buttons,
        views,
        fallback,
        errors,
    ):
        group.register(app)
