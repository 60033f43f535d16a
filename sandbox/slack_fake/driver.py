"""Drive a Slack app the way Slack does: signed slash commands, button clicks, modal submits.

The driver posts Slack's exact request bodies to the app's `/slack/events` URL, or pushes them
as Socket Mode envelopes to the app's websocket (`via="socket"`), then does what Slack would do
with the answer: show an ack's message, close or update a modal, or count a late or missing
ack (over 3 s) as a failure in the fake, so the `slack_fake` fixture fails the test.

    driver = SlackDriver("http://127.0.0.1:3000/slack/events", signing_secret, fake)
    sent = driver.slash_command(command="/deal", text="list")
    assert sent.status == 200 and sent.acked_in_time
    sent = SlackDriver.socket_mode(fake).slash_command(command="/deal", text="help")
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Literal

import requests

from sandbox.slack_fake.delivery import REAL_PERF_COUNTER, Delivery, Via
from sandbox.slack_fake.fake import SlackFake
from sandbox.slack_fake.payloads import (
    block_actions_payload,
    button_action,
    form_body,
    select_action,
    shortcut_payload,
    slash_command_form,
    view_closed_payload,
    view_submission_payload,
)
from sandbox.slack_fake.response_urls import post_ack_message
from sandbox.slack_fake.signing import MAX_AGE_SECONDS, sign
from sandbox.slack_fake.state import JSON, Channel, Message, User
from sandbox.slack_fake.view_responses import apply_view_response, close_top_view
from sandbox.slack_fake.view_state import find_element, state_values

__all__ = ["Delivery", "SlackDriver", "Tamper", "Via", "sign"]

# How a negative test spoils a request: a timestamp over 5 minutes old, the wrong secret, or
# no signature headers at all.
Tamper = Literal["stale", "bad_signature", "no_signature"]


def _wall_clock() -> float:
    return time.time()  # looked up per call so freezegun's time is used for signing


class SlackDriver:
    """Sends Slack's requests to one app, signed with its signing secret."""

    def __init__(
        self,
        bot_url: str,
        signing_secret: str,
        fake: SlackFake,
        *,
        clock: Callable[[], float] = _wall_clock,
        timeout_seconds: float = 10.0,
        via: Via = "http",
    ):
        self.bot_url = bot_url
        self.fake = fake
        self.via: Via = via
        self._signing_secret = signing_secret
        self._clock = clock
        self._timeout = timeout_seconds
        self._http = requests.Session()

    @classmethod
    def socket_mode(
        cls, fake: SlackFake, *, clock: Callable[[], float] = _wall_clock
    ) -> SlackDriver:
        """A driver for an app connected to the fake over Socket Mode (no URL, no secret)."""
        return cls("", "", fake, clock=clock, via="socket")

    # -- what Slack sends ----------------------------------------------------------------------

    def slash_command(
        self,
        *,
        command: str = "/deal",
        text: str = "",
        user_id: str = "U0BROKER1",
        channel_id: str = "C0DEALS",
        tamper: Tamper | None = None,
        via: Via | None = None,
    ) -> Delivery:
        """A user typed `command text` in a channel."""
        user, channel = self._user(user_id), self._channel(channel_id)
        trigger_id = self.fake.issue_trigger_id(user_id=user.id)
        response_url = self.fake.new_response_url(channel_id=channel.id, user_id=user.id)
        # Slack shows the ack's message where the command was typed, before anything the app
        # posts after it: its place in time is taken now, not when the HTTP answer is read
        # (the app's lazy work may already have answered through response_url by then).
        ack_ts = self.fake.store.new_ts()
        form = slash_command_form(
            config=self.fake.config,
            command=command,
            text=text,
            user=user,
            channel=channel,
            response_url=response_url,
            trigger_id=trigger_id,
        )
        sent = self._deliver("slash_commands", form, tamper=tamper, via=via)
        sent.trigger_id, sent.response_url = trigger_id, response_url
        if tamper is None and self._acked(sent, source=f"slash_command {command}"):
            self._show_ack_message(sent, source=f"slash_command {command}", form=form, ts=ack_ts)
        return sent

    def click_button(
        self,
        message: Message,
        action_id: str,
        *,
        value: str | None = None,
        user_id: str = "U0BROKER1",
        tamper: Tamper | None = None,
        via: Via | None = None,
    ) -> Delivery:
        """A user clicked the button `action_id` in a message the fake holds (a button with a
        `confirm` dialog: the user pressed its Confirm, so Slack sends the click)."""

        def build(element: JSON, block_id: str) -> JSON:
            if element["type"] != "button":
                raise ValueError(f"{action_id!r} is a {element['type']}, not a button")
            if value is not None and element.get("value") != value:
                raise ValueError(f"the button's value is {element.get('value')!r}, not {value!r}")
            return button_action(element=element, block_id=block_id, action_ts=self._now_ts())

        return self._block_action(message, action_id, build, user_id=user_id, tamper=tamper,
                                  via=via)  # fmt: skip

    def choose(
        self,
        message: Message,
        action_id: str,
        choice: str,
        *,
        user_id: str = "U0BROKER1",
        tamper: Tamper | None = None,
        via: Via | None = None,
    ) -> Delivery:
        """A user picked `choice` in the select `action_id`: an option's value in a
        `static_select`, a workspace member's id in a `users_select`."""

        def build(element: JSON, block_id: str) -> JSON:
            if element["type"] not in ("static_select", "users_select"):
                raise ValueError(f"{action_id!r} is a {element['type']}, not a select")
            if element["type"] == "users_select":
                self._user(choice)  # Slack offers only the workspace's members
            return select_action(element=element, block_id=block_id, action_ts=self._now_ts(),
                                 choice=choice)  # fmt: skip

        return self._block_action(message, action_id, build, user_id=user_id, tamper=tamper,
                                  via=via)  # fmt: skip

    def _block_action(
        self,
        message: Message,
        action_id: str,
        build: Callable[[JSON, str], JSON],
        *,
        user_id: str,
        tamper: Tamper | None,
        via: Via | None,
    ) -> Delivery:
        current = self.fake.find_message(message.channel, message.ts)
        if current is None:
            raise ValueError("the message is no longer in the fake; there is nothing to click")
        user, channel = self._user(user_id), self._channel(current.channel)
        if current.ephemeral_to not in (None, user.id) or (
            not current.is_ephemeral and user.id not in channel.members
        ):
            raise ValueError(f"{user.id} cannot see this message, so cannot click it")
        element, block_id = find_element(current.blocks, action_id)
        action = build(element, block_id)
        trigger_id = self.fake.issue_trigger_id(user_id=user.id)
        response_url = self.fake.new_response_url(
            channel_id=channel.id,
            user_id=user.id,
            message_ts=current.ts,
            message_is_ephemeral=current.is_ephemeral,
        )
        payload = block_actions_payload(
            config=self.fake.config,
            user=user,
            channel=channel,
            message=current,
            action=action,
            response_url=response_url,
            trigger_id=trigger_id,
        )
        sent = self._deliver("interactive", payload, tamper=tamper, via=via)
        sent.trigger_id, sent.response_url = trigger_id, response_url
        if tamper is None:
            self._acked(sent, source=f"block_actions {action_id}")
        return sent

    def submit_view(
        self,
        view: JSON,
        values: dict[str, dict[str, Any]],
        *,
        user_id: str = "U0BROKER1",
        tamper: Tamper | None = None,
        via: Via | None = None,
    ) -> Delivery:
        """A user pressed Submit on an open modal, with `values[block_id][action_id]` filled in."""
        user = self._user(user_id)
        open_views = {v["id"]: v for v in self.fake.views(user.id)}
        current = open_views.get(view.get("id", ""))
        if current is None:
            raise ValueError(f"view {view.get('id')!r} is not open for {user.id}")
        trigger_id = self.fake.issue_trigger_id(user_id=user.id)
        payload = view_submission_payload(
            config=self.fake.config,
            user=user,
            view=current,
            state_values=state_values(current, values),
            trigger_id=trigger_id,
        )
        sent = self._deliver("interactive", payload, tamper=tamper, via=via)
        sent.trigger_id = trigger_id
        source = f"view_submission {current.get('callback_id', '')}"
        if tamper is None and self._acked(sent, source=source):
            self._apply_view_answer(sent, source=source, user_id=user.id, view_id=current["id"])
        return sent

    def close_view(self, view_id: str, *, user_id: str = "U0BROKER1") -> bool:
        """A user closed their top modal (Cancel, the close button, Escape, a click outside);
        False if it is not open. Slack tells the app only when the view asked for
        `notify_on_close`, with a `view_closed` payload."""
        user = self._user(user_id)
        view = close_top_view(self.fake.store, user_id=user.id, view_id=view_id)
        if view is None:
            return False
        if view.get("notify_on_close"):
            payload = view_closed_payload(config=self.fake.config, user=user, view=view)
            sent = self._deliver("interactive", payload, tamper=None, via=None)
            self._acked(sent, source=f"view_closed {view.get('callback_id', '')}")
        return True

    def shortcut(
        self,
        callback_id: str,
        *,
        user_id: str = "U0BROKER1",
        tamper: Tamper | None = None,
        via: Via | None = None,
    ) -> Delivery:
        """A user picked the app's global shortcut `callback_id`."""
        user = self._user(user_id)
        trigger_id = self.fake.issue_trigger_id(user_id=user.id)
        payload = shortcut_payload(
            config=self.fake.config,
            user=user,
            callback_id=callback_id,
            trigger_id=trigger_id,
            action_ts=self._now_ts(),
        )
        sent = self._deliver("interactive", payload, tamper=tamper, via=via)
        sent.trigger_id = trigger_id
        if tamper is None:
            self._acked(sent, source=f"shortcut {callback_id}")
        return sent

    def post_signed(
        self,
        body: bytes,
        *,
        tamper: Tamper | None = None,
        payload: Any = None,
        content_type: str = "application/x-www-form-urlencoded",
        extra_headers: dict[str, str] | None = None,
    ) -> Delivery:
        """POST a raw body to the app with Slack's headers (a form; JSON for Events API
        callbacks, with `X-Slack-Retry-Num` when Slack retries one)."""
        timestamp = int(self._clock())
        secret = self._signing_secret
        if tamper == "stale":
            timestamp -= MAX_AGE_SECONDS + 60
        elif tamper == "bad_signature":
            secret += "-not-the-secret"
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **(extra_headers or {}),
        }
        if tamper != "no_signature":
            headers |= sign(signing_secret=secret, body=body, timestamp=timestamp)
        started = REAL_PERF_COUNTER[0]()
        response = self._http.post(self.bot_url, data=body, headers=headers, timeout=self._timeout)
        elapsed = REAL_PERF_COUNTER[0]() - started
        return Delivery(
            response=response,
            elapsed=elapsed,
            ack_timeout=self.fake.config.ack_timeout_seconds,
            payload=payload,
        )

    # -- what Slack does with the answer -------------------------------------------------------

    def _deliver(
        self, envelope_type: str, payload: JSON, *, tamper: Tamper | None, via: Via | None
    ) -> Delivery:
        """Send what Slack sends: a signed POST (a form, or a form's `payload` field for
        interactions), or over Socket Mode the same fields in an envelope."""
        if (via or self.via) == "http":
            if envelope_type == "slash_commands":
                return self.post_signed(form_body(payload), tamper=tamper, payload=payload)
            body = form_body({"payload": json.dumps(payload)})
            return self.post_signed(body, tamper=tamper, payload=payload)
        if tamper is not None:
            raise ValueError("Socket Mode envelopes are not signed: there is nothing to tamper")
        ack_timeout = self.fake.config.ack_timeout_seconds
        started = REAL_PERF_COUNTER[0]()
        # Slack waits for the ack only as long as its deadline, then gives up on the request.
        envelope = self.fake.socket_mode.push(envelope_type, payload, wait=ack_timeout)
        waited = REAL_PERF_COUNTER[0]() - started
        return Delivery(
            response=None,
            elapsed=waited if envelope.elapsed is None else envelope.elapsed,
            ack_timeout=ack_timeout,
            payload=payload,
            envelope=envelope,
        )

    def _acked(self, sent: Delivery, *, source: str) -> bool:
        """Whether Slack counts the answer as an ack; if not, note the failure in the fake."""
        if sent.envelope is not None and not sent.acked_in_time:
            detail = f"no ack within {sent.ack_timeout:.0f}s over Socket Mode"
            self.fake.note_rejection(source=source, error="operation_timeout", detail=detail)
            return False
        if sent.status != 200:
            detail = f"the app answered HTTP {sent.status}"
            self.fake.note_rejection(source=source, error="dispatch_failed", detail=detail)
            return False
        if sent.elapsed > sent.ack_timeout:
            detail = f"acked after {sent.elapsed:.2f}s (Slack waits {sent.ack_timeout:.0f}s)"
            self.fake.note_rejection(source=source, error="operation_timeout", detail=detail)
            return False
        return True

    def _show_ack_message(
        self, sent: Delivery, *, source: str, form: dict[str, str], ts: str | None = None
    ) -> None:
        if not sent.body:
            return
        message = sent.json()
        if not isinstance(message, dict):
            message = {"text": sent.body.decode("utf-8", "replace")}  # plain text: the message
        reply = post_ack_message(
            self.fake.store,
            channel_id=form["channel_id"],
            user_id=form["user_id"],
            payload=message,
            ts=ts,
        )
        if not reply.body.get("ok"):
            self._note_refusal(source, reply.body)

    def _apply_view_answer(
        self, sent: Delivery, *, source: str, user_id: str, view_id: str
    ) -> None:
        answer = sent.json() if sent.body else None
        if sent.body and not isinstance(answer, dict):
            detail = "a view_submission answer must be empty or a JSON object"
            self.fake.note_rejection(source=source, error="invalid_response", detail=detail)
            return
        reply = apply_view_response(self.fake.store, user_id=user_id, view_id=view_id, body=answer)
        if not reply.body.get("ok"):
            self._note_refusal(source, reply.body)

    def _note_refusal(self, source: str, body: JSON) -> None:
        messages = body.get("response_metadata", {}).get("messages", [])
        self.fake.note_rejection(source=source, error=body["error"], detail="; ".join(messages))

    # -- lookups ------------------------------------------------------------------------------

    def _user(self, user_id: str) -> User:
        user = self.fake.store.workspace.users.get(user_id)
        if user is None:
            raise ValueError(f"no user {user_id!r} in the fake workspace")
        return user

    def _channel(self, channel_id: str) -> Channel:
        channel = self.fake.store.channel(channel_id)
        if channel is None:
            raise ValueError(f"no channel {channel_id!r} in the fake workspace")
        return channel

    def _now_ts(self) -> str:
        return f"{self._clock():.6f}"
