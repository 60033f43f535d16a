"""What each GHL webhook means to DealFinder, one handler per event type, each returning a typed
outcome (`services.events.outcomes`) and knowing nothing of Slack or HTTP.

- `replies.reply_received`: InboundMessage (the notifier answers opt-outs and HELP; any
  other reply is routed to the deal team with its deal, buyer name and match score).
- `contacts.dnd_changed`, `contacts.buyer_changed`: ContactDndUpdate, ContactTagUpdate and
  ContactUpdate (the buyer cache and consent follow GHL).
- `deals.opportunity_changed`, `deals.task_completed`: opportunity stage / status / owner
  updates and TaskComplete (the store's link and the deal's card follow GHL).
- `types`: which event types GHL documents and which are handled.

`bot.web.webhook_handlers` is the adapter: it dispatches a stored event here and tells Slack
what the outcome says.
"""
