"""chat.unfurl: attach the app's previews to links Slack told it about with `link_shared`.

Errors are those Slack documents for the method (api.slack.com/methods/chat.unfurl):
`channel`+`ts` or `unfurl_id`+`source` name the share; `missing_unfurls`,
`invalid_unfurls_format` (not a JSON object of URL -> unfurl), `cannot_unfurl_url` (a URL
no `link_shared` event named), `cannot_find_channel`, `no_permission` (the bot is not in the
channel), `cannot_find_message`, `invalid_arguments` (an unfurl's blocks break Block Kit's
rules: at most 50 blocks, the message limits).
"""

from __future__ import annotations

import json

from sandbox.slack_fake.blocks import message_block_problems, with_generated_ids
from sandbox.slack_fake.elements import problem
from sandbox.slack_fake.links import SOURCES, LinkShare
from sandbox.slack_fake.replies import Handler, Reply, fail, ok
from sandbox.slack_fake.state import JSON
from sandbox.slack_fake.store import SlackStore


def _share(store: SlackStore, args: JSON) -> LinkShare | Reply:
    unfurl_id, source = args.get("unfurl_id"), args.get("source")
    if unfurl_id or source:
        if not unfurl_id or not source:
            missing = "unfurl_id" if not unfurl_id else "source"
            why = problem(f"missing required field: {missing}", "")
            return fail("invalid_arguments", messages=[why])
        if source not in SOURCES:
            return fail("invalid_arguments", messages=[problem("must be a valid enum value", "")])
        share = store.link_shares.get(unfurl_id)
        if share is None or share.source != source:
            return fail("cannot_unfurl_url")
        return share
    channel = store.channel(args["channel"])
    if channel is None:
        return fail("cannot_find_channel")
    if store.config.bot_user_id not in channel.members:
        return fail("no_permission")
    if store.find_message(channel.id, args["ts"]) is None:
        return fail("cannot_find_message")
    shares = [
        s
        for s in store.link_shares.values()
        if s.channel == channel.id and s.message_ts == args["ts"]
    ]
    if not shares:
        return fail("cannot_unfurl_url")  # Slack never told the app about this message's links
    return shares[-1]


def _unfurls(args: JSON) -> dict[str, JSON] | Reply:
    raw = args.get("unfurls")
    if raw in (None, ""):
        return fail("missing_unfurls")
    try:
        unfurls = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return fail("invalid_unfurls_format")
    if not isinstance(unfurls, dict) or not all(isinstance(v, dict) for v in unfurls.values()):
        return fail("invalid_unfurls_format")
    return unfurls


def chat_unfurl(store: SlackStore, args: JSON) -> Reply:
    share = _share(store, args)
    if isinstance(share, Reply):
        return share
    unfurls = _unfurls(args)
    if isinstance(unfurls, Reply):
        return unfurls
    problems: list[str] = []
    for url, unfurl in unfurls.items():
        if url not in share.urls:
            return fail("cannot_unfurl_url")
        if "blocks" in unfurl:
            found = message_block_problems(unfurl["blocks"])
            problems += [
                p.replace("json-pointer:/blocks", f"json-pointer:/unfurls/{url}/blocks")
                for p in found
            ]
        elif not unfurl.get("text") and not unfurl.get("title"):
            why = "an unfurl needs blocks, or an attachment's text"
            problems.append(problem(why, f"/unfurls/{url}"))
    if problems:
        return fail("invalid_arguments", messages=problems)
    for url, unfurl in unfurls.items():
        stored = dict(unfurl)
        if "blocks" in stored:
            stored["blocks"] = with_generated_ids(stored["blocks"])
        # A second call for the same link replaces its unfurl; it never adds another.
        share.unfurls[url] = stored
    return ok()


HANDLERS: dict[str, Handler] = {"chat.unfurl": chat_unfurl}
