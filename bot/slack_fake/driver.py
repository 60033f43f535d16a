"""Drive a Slack app the way Slack does: signed slash commands, button clicks, modal submits.

The driver posts Slack's exact request bodies to the app's `/slack/events` URL, then does what
Slack would do with the answer: show an ack's message, close or update a modal, or count a
late ack (over 3 s) as a failure in the fake, so the `slack_fake` fixture fails the test.

    driver = SlackDriver("http://127.0.0.1:3000/slack/events", signing_secret, fake)
    sent = driver.slash_command(command="/deal", text="list")
    assert sent.status == 200 and sent.acked_in_time
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import requests

from bot.slack_fake.fake import SlackFake
from bot.slack_fake.payloads import (
    block_actions_payload,
    button_action,
    form_body,
    shortcut_payload,
    slash_command_form,
    view_submission_payload,
)
from bot.slack_fake.response_urls import post_ack_message
from bot.slack_fake.signing import MAX_AGE_SECONDS, sign
from bot.slack_fake.state import JSON, Channel, Message, User
from bot.slack_fake.view_responses import apply_view_response
from bot.slack_fake.view_state import find_element, state_values

__all__ = ["Delivery", "SlackDriver", "Tamper", "sign"]

# How a negative test spoils a request: a timestamp over 5 minutes old, the wrong secret, or
# no signature headers at all.
Tamper = Literal["stale", "bad_signature", "no_signature"]

# freezegun swaps time.perf_counter while a test freezes time, but the 3-second ack deadline is
# about real seconds; a reference kept inside a tuple is not found and patched.
_REAL_PERF_COUNTER = (time.perf_counter,)


def _wall_clock() -> float:
    return time.time()  # looked up per call so freezegun's time is used for signing


@dataclass
class Delivery:
    """One request the driver sent and what the app answered."""

    response: requests.Response
    elapsed: float
    ack_timeout: float
    payload: Any
    trigger_id: str | None = None
    response_url: str | None = None

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def acked_in_time(self) -> bool:
        """Answered 200 within Slack's 3-second limit."""
        return self.status == 200 and self.elapsed <= self.ack_timeout

    def json(self) -> Any:
        """The answer's JSON body, or None when it was empty or not JSON."""
        try:
            return self.response.json()
        except ValueError:
            return None


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
    ):
        self.bot_url = bot_url
        self.fake = fake
        self._signing_secret = signing_secret
        self._clock = clock
        self._timeout = timeout_seconds
        self._http = requests.Session()

    # -- what Slack sends ----------------------------------------------------------------------

    def slash_command(
        self,
        *,
        command: str = "/deal",
        text: str = "",
        user_id: str = "U0BROKER1",
        channel_id: str = "C0DEALS",
        tamper: Tamper | None = None,
    ) -> Delivery:
        """A user typed `command text` in a channel."""
        user, channel = self._user(user_id), self._channel(channel_id)
        trigger_id = self.fake.issue_trigger_id(user_id=user.id)
        response_url = self.fake.new_response_url(channel_id=channel.id, user_id=user.id)
        form = slash_command_form(
            config=self.fake.config,
            command=command,
            text=text,
            user=user,
            channel=channel,
            response_url=response_url,
            trigger_id=trigger_id,
        )
        sent = self.post_signed(form_body(form), tamper=tamper, payload=form)
        sent.trigger_id, sent.response_url = trigger_id, response_url
        if tamper is None and self._acked(sent, source=f"slash_command {command}"):
            self._show_ack_message(sent, source=f"slash_command {command}", form=form)
        return sent

    def click_button(
        self,
        message: Message,
        action_id: str,
        *,
        value: str | None = None,
        user_id: str = "U0BROKER1",
        tamper: Tamper | None = None,
    ) -> Delivery:
        """A user clicked the button `action_id` in a message the fake holds."""
        current = self.fake.find_message(message.channel, message.ts)
        if current is None:
            raise ValueError("the message is no longer in the fake; there is nothing to click")
        user, channel = self._user(user_id), self._channel(current.channel)
        if current.ephemeral_to not in (None, user.id) or (
            not current.is_ephemeral and user.id not in channel.members
        ):
            raise ValueError(f"{user.id} cannot see this message, so cannot click it")
        element, block_id = find_element(current.blocks, action_id)
        if element["type"] != "button":
            raise ValueError(f"{action_id!r} is a {element['type']}, not a button")
        if value is not None and element.get("value") != value:
            raise ValueError(f"the button's value is {element.get('value')!r}, not {value!r}")
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
            action=button_action(element=element, block_id=block_id, action_ts=self._now_ts()),
            response_url=response_url,
            trigger_id=trigger_id,
        )
        sent = self._post_payload(payload, tamper=tamper)
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
        sent = self._post_payload(payload, tamper=tamper)
        sent.trigger_id = trigger_id
        source = f"view_submission {current.get('callback_id', '')}"
        if tamper is None and self._acked(sent, source=source):
            self._apply_view_answer(sent, source=source, user_id=user.id, view_id=current["id"])
        return sent

    def shortcut(
        self, callback_id: str, *, user_id: str = "U0BROKER1", tamper: Tamper | None = None
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
        sent = self._post_payload(payload, tamper=tamper)
        sent.trigger_id = trigger_id
        if tamper is None:
            self._acked(sent, source=f"shortcut {callback_id}")
        return sent

    def post_signed(
        self, body: bytes, *, tamper: Tamper | None = None, payload: Any = None
    ) -> Delivery:
        """POST a raw form body to the app with Slack's headers (for hand-made payloads)."""
        timestamp = int(self._clock())
        secret = self._signing_secret
        if tamper == "stale":
            timestamp -= MAX_AGE_SECONDS + 60
        elif tamper == "bad_signature":
            secret += "-not-the-secret"
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        if tamper != "no_signature":
            headers |= sign(signing_secret=secret, body=body, timestamp=timestamp)
        started = _REAL_PERF_COUNTER[0]()
        response = self._http.post(self.bot_url, data=body, headers=headers, timeout=self._timeout)
        elapsed = _REAL_PERF_COUNTER[0]() - started
        return Delivery(
            response=response,
            elapsed=elapsed,
            ack_timeout=self.fake.config.ack_timeout_seconds,
            payload=payload,
        )

    # -- what Slack does with the answer -------------------------------------------------------

    def _post_payload(self, payload: JSON, *, tamper: Tamper | None) -> Delivery:
        body = form_body({"payload": json.dumps(payload)})
        return self.post_signed(body, tamper=tamper, payload=payload)

    def _acked(self, sent: Delivery, *, source: str) -> bool:
        """Whether Slack counts the answer as an ack; if not, note the failure in the fake."""
        if sent.status != 200:
            detail = f"the app answered HTTP {sent.status}"
            self.fake.note_rejection(source=source, error="dispatch_failed", detail=detail)
            return False
        if sent.elapsed > sent.ack_timeout:
            detail = f"acked after {sent.elapsed:.2f}s (Slack waits {sent.ack_timeout:.0f}s)"
            self.fake.note_rejection(source=source, error="operation_timeout", detail=detail)
            return False
        return True

    def _show_ack_message(self, sent: Delivery, *, source: str, form: dict[str, str]) -> None:
        if not sent.response.content:
            return
        message = sent.json()
        if not isinstance(message, dict):
            message = {"text": sent.response.text}  # a plain-text ack is the message text
        reply = post_ack_message(
            self.fake.store, channel_id=form["channel_id"], user_id=form["user_id"], payload=message
        )
        if not reply.body.get("ok"):
            self._note_refusal(source, reply.body)

    def _apply_view_answer(
        self, sent: Delivery, *, source: str, user_id: str, view_id: str
    ) -> None:
        answer = sent.json() if sent.response.content else None
        if sent.response.content and not isinstance(answer, dict):
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
