"""The `/deal` subcommands after the ack: each asks the deal desk and answers the user.

show   -> the deal card (store + GHL), with its buttons
match  -> ranked buyers with the why, freshness, and who cannot be texted
notify -> the confirmation step (who now, who later, who not)
hot    -> today's hot deals
add    -> the deal pipeline on a one-line record; `add_form` opens the modal instead
"""

from __future__ import annotations

import json

from bot.slack import blocks
from bot.slack import messages as msg
from bot.slack.listeners.common import Turn
from bot.slack.listeners.grammar import Parsed
from services.desk import day_start
from services.notify.words import not_words
from services.pipeline.core import DealResult
from store.buyers import display_name


def show(turn: Turn, request: Parsed) -> None:
    desk = turn.services.desk
    query = request.args["query"]
    found = desk.find(query)
    if len(found) > 1:
        turn.say(msg.several_deals(query, found))
        return
    card = desk.card(found[0]) if found else None
    if card is None:
        turn.say(msg.unknown_deal(query))
        return
    turn.say(blocks.deal_card_text(card), blocks=blocks.deal_card_blocks(card))


def match(turn: Turn, request: Parsed) -> None:
    services = turn.services
    mls_id, limit = request.args["mls_id"], request.args["limit"]
    facts = services.desk.facts(mls_id)
    if facts is None:
        turn.say(msg.unknown_deal(mls_id))
        return
    floor = services.desk.min_score
    # One clock for the age and the staleness (the sandbox's is simulated).
    now = services.clock()
    outcome = services.desk.matcher.match(facts, min_score=floor, limit=limit, now=now)
    results = list(outcome.page.results)
    plan = services.actions.plan(mls_id, matches=results)
    excluded = [(e.name, not_words(e.code, e.reason)) for e in plan.excluded] if plan else []
    names = {cid: display_name(b, fallback=cid) for cid, b in outcome.buyers.items()}
    title = msg.deal_title(facts.address, facts.city, facts.state, facts.zip)
    answer = blocks.match_blocks(
        mls_id=mls_id, title=f"{title} ({msg.money(facts.price)})", results=results,
        names=names, total=outcome.page.total, min_score=floor,
        freshness=outcome.freshness(now), excluded_count=outcome.excluded,
        not_texted=excluded,
    )  # fmt: skip
    turn.say(f"Buyers for {mls_id}", blocks=answer)


def notify(turn: Turn, request: Parsed) -> None:
    plan = turn.services.actions.plan(request.args["mls_id"])
    if plan is None:
        turn.say(msg.unknown_deal(request.args["mls_id"]))
        return
    turn.say(msg.notify_heading(plan.mls_id), blocks=blocks.notify_confirm_blocks(plan))


def hot(turn: Turn, request: Parsed) -> None:
    desk = turn.services.desk
    cards = desk.hot_today()
    zone = desk.location_timezone() or desk.rules.default_timezone
    day = day_start(desk.clock(), zone).strftime("%a %d %b")
    turn.say(msg.hot_heading(len(cards), day), blocks=blocks.hot_list_blocks(cards, day=day))


def add(turn: Turn, request: Parsed) -> None:
    result = turn.services.actions.add(request.args["record"])
    say_added(turn, result)


def say_added(turn: Turn, result: DealResult) -> None:
    """Tell the user what the pipeline did: opportunity, stage, owner, tasks, GHL link."""
    ghl_map = turn.services.desk.ghl_map()
    user = ghl_map.users.get(result.owner_email or "") if ghl_map else None
    owner = (user.name or result.owner_email) if user else result.owner_email
    answer = blocks.add_result_blocks(
        action=result.action, mls_id=result.mls_id, reason=result.reason,
        stage=result.stage_name, owner=owner, tasks=result.tasks_created,
        url=result.opportunity_url,
    )  # fmt: skip
    turn.say(msg.add_result(result.action, result.mls_id, result.reason), blocks=answer)


def open_add_form(turn: Turn, request: Parsed) -> None:
    """Open the add form; the trigger_id lives 3 s, so this runs first thing after the ack."""
    metadata = json.dumps({"channel_id": turn.channel_id})
    turn.client.views_open(
        trigger_id=turn.body["trigger_id"], view=blocks.add_form_view(private_metadata=metadata)
    )
