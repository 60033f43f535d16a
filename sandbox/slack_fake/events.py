"""Events API callbacks the fake sends an app: `link_shared` and `app_home_opened`.

Slack POSTs them as signed JSON to the app's request URL (or pushes them over Socket Mode as
`events_api` envelopes), and retries a callback the app did not answer in 3 seconds with
`X-Slack-Retry-Num`. `share_link` also does what precedes `link_shared` in Slack: the user's
message lands in the channel (or stays in the composer) and only links on the app's unfurl
domains are named.

    shared = share_link(driver, text="see https://app.gohighlevel.com/...", user_id="U0AGENT01")
    unfurls_of(driver.fake, shared.unfurl_id)     # {url: {"blocks": [...]}} once the app answered
    open_app_home(driver, user_id="U0AGENT01")
    home_view_of(driver.fake, "U0AGENT01")        # the published Home tab, or None
    click_unfurl_button(driver, shared, url, "deal_claim")   # a click in the app's preview
"""

from __future__ import annotations

import copy
import json
import secrets
from dataclasses import dataclass

from sandbox.slack_fake.delivery import REAL_PERF_COUNTER, Delivery, Via
from sandbox.slack_fake.driver import SlackDriver, Tamper
from sandbox.slack_fake.fake import SlackFake
from sandbox.slack_fake.links import LinkShare, domain_of, on_domains, urls_in
from sandbox.slack_fake.payloads import block_actions_payload, button_action, form_body
from sandbox.slack_fake.state import JSON, Message
from sandbox.slack_fake.view_state import find_element


@dataclass
class Shared:
    """A link_shared callback sent: the event, where the links are, and the app's answer."""

    delivery: Delivery | None  # None when no link was on the app's domains (no event)
    event: JSON | None
    unfurl_id: str | None
    channel: str
    message_ts: str | None


def event_callback(fake: SlackFake, event: JSON, *, event_id: str | None = None) -> JSON:
    """The Events API envelope Slack wraps every event in."""
    config = fake.config
    return {
        "token": config.verification_token,
        "team_id": config.team_id,
        "api_app_id": config.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{secrets.token_hex(5).upper()}",
        "event_time": int(fake.store.clock()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": config.team_id,
                "user_id": config.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def send_event(
    driver: SlackDriver,
    callback: JSON,
    *,
    retry_num: int | None = None,
    tamper: Tamper | None = None,
    via: Via | None = None,
) -> Delivery:
    """Deliver an event callback as Slack does: signed JSON over HTTP, or an envelope."""
    if (via or driver.via) == "http":
        headers = {}
        if retry_num:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        sent = driver.post_signed(
            json.dumps(callback).encode(),
            tamper=tamper,
            payload=callback,
            content_type="application/json",
            extra_headers=headers,
        )
    else:
        ack_timeout = driver.fake.config.ack_timeout_seconds
        started = REAL_PERF_COUNTER[0]()
        envelope = driver.fake.socket_mode.push("events_api", callback, wait=ack_timeout)
        waited = REAL_PERF_COUNTER[0]() - started
        sent = Delivery(
            response=None,
            ack_timeout=ack_timeout,
            payload=callback,
            elapsed=waited if envelope.elapsed is None else envelope.elapsed,
            envelope=envelope,
        )
    if tamper is None and not sent.acked_in_time:
        source = f"event {callback['event']['type']}"
        detail = f"the app answered {sent.status} in {sent.elapsed:.2f}s"
        driver.fake.note_rejection(source=source, error="http_timeout", detail=detail)
    return sent


def record_share(
    fake: SlackFake,
    *,
    text: str,
    user_id: str = "U0AGENT01",
    channel_id: str = "C0DEALS",
    source: str = "conversations_history",
) -> Shared:
    """What Slack does before `link_shared`: the user's message lands in the channel (or stays
    in the composer, `source="composer"`) and its links on the app's domains are noted.
    `Shared.event` is the event to send, or None when no link is on the app's domains."""
    store = fake.store
    with store.lock:
        channel = store.channel(channel_id)
        if channel is None or user_id not in channel.members:
            raise ValueError(f"{user_id} cannot post in {channel_id}")
        if source == "composer":
            channel_name, ts = "COMPOSER", f"{user_id}-{secrets.token_hex(8)}"
        else:
            channel_name, ts = channel.id, store.new_ts()
            store.add_message(Message(channel=channel.id, ts=ts, text=text, user=user_id))
        urls = on_domains(urls_in(text), fake.config.unfurl_domains)
        if not urls:
            return Shared(
                delivery=None, event=None, unfurl_id=None, channel=channel_name, message_ts=ts
            )
        unfurl_id = f"{channel.id}.{ts}.{secrets.token_hex(16)}"
        store.link_shares[unfurl_id] = LinkShare(
            unfurl_id=unfurl_id,
            source=source,
            channel=channel_name,
            message_ts=ts,
            user=user_id,
            urls=tuple(urls),
        )
        event: JSON = {
            "type": "link_shared",
            "channel": channel_name,
            "is_bot_user_member": fake.config.bot_user_id in channel.members,
            "user": user_id,
            "message_ts": ts,
            "unfurl_id": unfurl_id,
            "source": source,
            "links": [{"domain": domain_of(url), "url": url} for url in urls],
            "event_ts": store.new_ts(),
        }
    return Shared(
        delivery=None, event=event, unfurl_id=unfurl_id, channel=channel_name, message_ts=ts
    )


def share_link(
    driver: SlackDriver,
    *,
    text: str,
    user_id: str = "U0AGENT01",
    channel_id: str = "C0DEALS",
    source: str = "conversations_history",
    via: Via | None = None,
) -> Shared:
    """A user posts `text`; when it holds links on the app's unfurl domains, Slack sends the
    app a signed `link_shared` callback (`Shared.delivery` is the app's answer)."""
    shared = record_share(
        driver.fake, text=text, user_id=user_id, channel_id=channel_id, source=source
    )
    if shared.event is not None:
        callback = event_callback(driver.fake, shared.event)
        shared.delivery = send_event(driver, callback, via=via)
    return shared


def open_app_home(driver: SlackDriver, *, user_id: str, via: Via | None = None) -> Delivery:
    """A user opens the app's Home tab; the event carries the view last published, if any."""
    store = driver.fake.store
    with store.lock:
        if user_id not in store.workspace.users:
            raise ValueError(f"no user {user_id!r} in the fake workspace")
        event: JSON = {
            "type": "app_home_opened",
            "user": user_id,
            "channel": store.im_with(user_id).id,
            "tab": "home",
            "event_ts": store.new_ts(),
        }
        if user_id in store.home_views:
            event["view"] = copy.deepcopy(store.home_views[user_id])
    return send_event(driver, event_callback(driver.fake, event), via=via)


def unfurls_of(fake: SlackFake, unfurl_id: str | None) -> dict[str, JSON]:
    """The unfurls the app attached to a share's links (copies), by URL."""
    with fake.store.lock:
        share = fake.store.link_shares.get(unfurl_id or "")
        return copy.deepcopy(share.unfurls) if share else {}


def home_view_of(fake: SlackFake, user_id: str) -> JSON | None:
    """The Home tab the app last published for `user_id`, or None."""
    with fake.store.lock:
        view = fake.store.home_views.get(user_id)
        return copy.deepcopy(view) if view else None


def click_unfurl_button(
    driver: SlackDriver,
    shared: Shared,
    url: str,
    action_id: str,
    *,
    user_id: str = "U0AGENT01",
    via: Via | None = None,
) -> Delivery:
    """A user clicks a button in the app's preview of `url` (posted messages only).

    Slack sends `block_actions` with a `message_attachment` container marked `is_app_unfurl`,
    the channel, and a response_url for the message the link is in.
    """
    fake = driver.fake
    with fake.store.lock:
        share = fake.store.link_shares.get(shared.unfurl_id or "")
        unfurl = share.unfurls.get(url) if share else None
        if share is None or unfurl is None:
            raise ValueError(f"the app has not previewed {url}; there is nothing to click")
        message = fake.store.find_message(share.channel, share.message_ts)
        channel = fake.store.channel(share.channel)
        if message is None or channel is None:
            raise ValueError("only previews in posted messages can be clicked")
        if user_id not in channel.members:
            raise ValueError(f"{user_id} cannot see {channel.id}, so cannot click in it")
        element, block_id = find_element(unfurl["blocks"], action_id)
        user = fake.store.workspace.users[user_id]
        message = copy.deepcopy(message)
    trigger_id = fake.issue_trigger_id(user_id=user_id)
    response_url = fake.new_response_url(
        channel_id=channel.id, user_id=user_id, message_ts=message.ts
    )
    action_ts = f"{fake.store.clock():.6f}"
    payload = block_actions_payload(
        config=fake.config,
        user=user,
        channel=channel,
        message=message,
        action=button_action(element=element, block_id=block_id, action_ts=action_ts),
        response_url=response_url,
        trigger_id=trigger_id,
    )
    payload["container"] = {
        "type": "message_attachment",
        "message_ts": message.ts,
        "attachment_id": list(share.unfurls).index(url) + 1,
        "channel_id": channel.id,
        "is_ephemeral": False,
        "is_app_unfurl": True,
        "app_unfurl_url": url,
    }
    body = form_body({"payload": json.dumps(payload)})
    if (via or driver.via) == "http":
        sent = driver.post_signed(body, payload=payload)
    else:
        ack_timeout = fake.config.ack_timeout_seconds
        envelope = fake.socket_mode.push("interactive", payload, wait=ack_timeout)
        elapsed = ack_timeout if envelope.elapsed is None else envelope.elapsed
        sent = Delivery(
            response=None, elapsed=elapsed, ack_timeout=ack_timeout, payload=payload,
            envelope=envelope,
        )  # fmt: skip
    sent.trigger_id, sent.response_url = trigger_id, response_url
    return sent
