"""Socket Mode in the Slack fake, through slack_sdk's builtin SocketModeClient and bolt's
SocketModeHandler: tickets, the websocket handshake and frames, envelopes and their acks."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import pytest
import requests
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.builtin.internals import _build_data_frame_for_sending, _fetch_messages
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from sandbox.slack_fake import (
    APP_TOKEN,
    BOT_TOKEN,
    FakeConfig,
    NoSocketConnection,
    SlackDriver,
    SlackFake,
)
from sandbox.slack_fake.websocket import (
    CLOSE,
    PING,
    TEXT,
    ProtocolError,
    accept_key,
    encode_frame,
    read_frame,
)
from tests.fixtures.bot import wait_for

SHORT_ACK = FakeConfig(ack_timeout_seconds=0.3)  # Slack's 3 s, shortened so tests stay fast
Answer = Callable[[SocketModeRequest], dict[str, Any] | None]
NEW_DEAL_MODAL = {
    "type": "modal",
    "callback_id": "new_deal",
    "title": {"type": "plain_text", "text": "New deal"},
    "submit": {"type": "plain_text", "text": "Save"},
    "blocks": [
        {
            "type": "input",
            "block_id": "price",
            "label": {"type": "plain_text", "text": "Asking price"},
            "element": {"type": "plain_text_input", "action_id": "price_input"},
        }
    ],
}


def _close(client: SocketModeClient, fake: SlackFake) -> None:
    """Close a client without its idle waits: slack_sdk's close() waits out its 1-second queue
    poll and its 3-second socket read. A wake-up item ends the first; the fake closing the
    connection (as Slack does when it goes away) ends the second."""
    client.auto_reconnect_enabled = client.default_auto_reconnect_enabled = False
    client.closed = True
    client.message_queue.put("")
    fake.socket_mode.close_all(1000, "the test is over")
    client.close()


@pytest.fixture
def connect(slack_fake: SlackFake) -> Iterator[Callable[..., SocketModeClient]]:
    """Connect slack_sdk's builtin SocketModeClient; `answer(request)` is the ack's payload
    (None: an empty ack); without `answer` the client never acks."""
    made: list[SocketModeClient] = []

    def open_client(answer: Answer | None = None, *, seen: list[str] | None = None):
        client = SocketModeClient(
            app_token=APP_TOKEN, web_client=WebClient(base_url=slack_fake.api_url)
        )
        if seen is not None:
            client.on_message_listeners.append(seen.append)
        if answer is not None:

            def ack(client_: Any, request: SocketModeRequest) -> None:
                payload = answer(request)
                client_.send_socket_mode_response(
                    SocketModeResponse(envelope_id=request.envelope_id, payload=payload)
                )

            client.socket_mode_request_listeners.append(ack)
        made.append(client)
        client.connect()
        assert slack_fake.socket_mode.wait_for_connection(timeout=5, count=len(made))
        return client

    yield open_client
    for client in made:
        _close(client, slack_fake)


def _deal_blocks(address: str) -> list[dict[str, Any]]:
    approve = {"type": "button", "action_id": "approve", "value": address,
               "text": {"type": "plain_text", "text": "Approve"}}  # fmt: skip
    return [{"type": "actions", "elements": [approve]}]


@pytest.fixture
def bolt_over_socket(slack_fake: SlackFake) -> Iterator[SocketModeHandler]:
    """A small bolt app (no signing secret) connected by bolt's own SocketModeHandler."""
    app = App(
        client=WebClient(token=BOT_TOKEN, base_url=slack_fake.api_url),
        signing_secret="",
        process_before_response=True,  # the listener's work is done when the ack goes out
    )

    @app.command("/deal")
    def deal(ack: Any, command: dict[str, Any], client: WebClient) -> None:
        client.chat_postMessage(channel=command["channel_id"], text=command["text"],
                                blocks=_deal_blocks(command["text"]))  # fmt: skip
        ack(f"Looking up {command['text']}")

    @app.action("approve")
    def approve(ack: Any, body: dict[str, Any], respond: Any) -> None:
        respond(replace_original=True, text=f"Approved by <@{body['user']['id']}>")
        ack()

    @app.command("/newdeal")
    def new_deal(ack: Any, body: dict[str, Any], client: WebClient) -> None:
        client.views_open(trigger_id=body["trigger_id"], view=NEW_DEAL_MODAL)
        ack()

    @app.view("new_deal")
    def submitted(ack: Any, view: dict[str, Any]) -> None:
        if not view["state"]["values"]["price"]["price_input"]["value"].isdigit():
            ack(response_action="errors", errors={"price": "Digits only"})
            return
        ack()

    handler = SocketModeHandler(app, app_token=APP_TOKEN)
    handler.connect()
    assert slack_fake.socket_mode.wait_for_connection(timeout=5)
    yield handler
    _close(handler.client, slack_fake)


def test_sdk_client_is_greeted_and_its_ack_is_shown(
    connect: Callable[..., SocketModeClient], slack_fake: SlackFake
) -> None:
    seen: list[str] = []
    client = connect(lambda request: {"text": f"Looking up {request.payload['text']}"}, seen=seen)
    assert client.wss_uri is not None
    assert client.wss_uri.startswith(f"{slack_fake.socket_mode.link_url}?ticket=")

    sent = SlackDriver.socket_mode(slack_fake).slash_command(text="TPA-1", user_id="U0AGENT01")

    assert sent.acked_in_time and sent.status == 200
    envelope = sent.envelope
    assert envelope is not None and envelope.type == "slash_commands"
    assert envelope.accepts_response_payload
    assert envelope.payload == sent.payload and envelope.payload["command"] == "/deal"
    assert envelope.ack == {
        "envelope_id": envelope.envelope_id,
        "payload": {"text": "Looking up TPA-1"},
    }
    [shown] = slack_fake.ephemerals(user_id="U0AGENT01")
    assert (shown.text, shown.via) == ("Looking up TPA-1", "ack")
    snapshot = requests.get(f"{slack_fake.url}/_fake/socket_mode", timeout=5).json()
    assert len(snapshot["connections"]) == 1
    assert snapshot["envelopes"][0]["ack"] == envelope.ack
    hello = json.loads(wait_for(lambda: seen, what="the hello message")[0])
    assert hello["type"] == "hello" and hello["num_connections"] == 1
    assert hello["connection_info"] == {"app_id": slack_fake.config.app_id}
    # slack_sdk pings on connecting and only counts a pong that echoes its payload.
    assert client.current_session is not None
    wait_for(lambda: client.current_session.last_ping_pong_time, what="the pong")


def test_bot_token_is_refused_for_socket_mode(slack_fake: SlackFake) -> None:
    slack_fake.expect_rejection("not_allowed_token_type", method="apps.connections.open")
    client = SocketModeClient(
        app_token=BOT_TOKEN, web_client=WebClient(base_url=slack_fake.api_url)
    )
    try:
        with pytest.raises(SlackApiError) as refused:
            client.connect()
    finally:
        _close(client, slack_fake)
    assert refused.value.response["error"] == "not_allowed_token_type"
    assert slack_fake.socket_mode.connection_count == 0


@pytest.mark.parametrize(
    ("method", "token", "error"),
    [
        ("apps.connections.open", None, "not_authed"),
        ("apps.connections.open", "xapp-another-app", "invalid_auth"),
        ("auth.test", APP_TOKEN, "not_allowed_token_type"),  # app tokens only open sockets
    ],
)
def test_tokens_are_checked_by_kind(
    slack_fake: SlackFake, method: str, token: str | None, error: str
) -> None:
    slack_fake.expect_rejection(error, method=method)
    with pytest.raises(SlackApiError) as refused:
        WebClient(token=token, base_url=slack_fake.api_url).api_call(method)
    assert refused.value.response["error"] == error


@pytest.mark.parametrize("slack_fake_config", [SHORT_ACK])
def test_an_envelope_nobody_acks_is_an_operation_timeout(
    connect: Callable[..., SocketModeClient], slack_fake: SlackFake
) -> None:
    slack_fake.expect_rejection("operation_timeout", method="slash_command /deal")
    connect()  # connected, but acks nothing

    sent = SlackDriver.socket_mode(slack_fake).slash_command(text="help", user_id="U0AGENT01")

    assert not sent.acked_in_time and sent.status == 0
    assert SHORT_ACK.ack_timeout_seconds <= sent.elapsed < 2
    [rejection] = slack_fake.rejections()
    assert (rejection.method, rejection.error) == ("slash_command /deal", "operation_timeout")
    assert slack_fake.ephemerals() == []


@pytest.mark.parametrize("slack_fake_config", [SHORT_ACK])
def test_a_late_ack_is_recorded_but_shows_nothing(
    connect: Callable[..., SocketModeClient], slack_fake: SlackFake
) -> None:
    slack_fake.expect_rejection("operation_timeout", method="slash_command /deal")
    release = threading.Event()

    def late(request: SocketModeRequest) -> dict[str, Any]:
        release.wait(5)
        return {"text": "too late"}

    connect(late)
    sent = SlackDriver.socket_mode(slack_fake).slash_command(text="help")
    assert not sent.acked_in_time
    release.set()

    envelope = sent.envelope
    assert envelope is not None
    wait_for(lambda: envelope.acked, what="the late ack")
    assert envelope.elapsed is not None and envelope.elapsed > SHORT_ACK.ack_timeout_seconds
    assert envelope.ack_payload == {"text": "too late"}
    assert slack_fake.ephemerals() == []


def test_bolt_commands_clicks_and_modals_over_socket_mode(
    bolt_over_socket: SocketModeHandler, slack_fake: SlackFake
) -> None:
    driver = SlackDriver.socket_mode(slack_fake)
    assert driver.slash_command(text="12 Oak St", user_id="U0AGENT01").acked_in_time
    [shown] = slack_fake.ephemerals(user_id="U0AGENT01")
    assert shown.text == "Looking up 12 Oak St"

    [posted] = slack_fake.messages("C0DEALS")
    click = driver.click_button(posted, "approve", value="12 Oak St", user_id="U0AGENT02")
    assert click.acked_in_time and click.envelope is not None
    assert click.envelope.type == "interactive" and not click.envelope.accepts_response_payload
    assert click.envelope.payload["type"] == "block_actions"
    assert slack_fake.find_message("C0DEALS", posted.ts).text == "Approved by <@U0AGENT02>"

    driver.slash_command(command="/newdeal")
    [view] = slack_fake.views("U0BROKER1")
    refused = driver.submit_view(view, {"price": {"price_input": "a lot"}})
    assert refused.json() == {"response_action": "errors", "errors": {"price": "Digits only"}}
    assert [v["id"] for v in slack_fake.views("U0BROKER1")] == [view["id"]]  # errors keep it
    driver.submit_view(view, {"price": {"price_input": "250000"}})
    assert slack_fake.views("U0BROKER1") == []


def test_refresh_request_makes_the_client_reconnect(
    connect: Callable[..., SocketModeClient], slack_fake: SlackFake
) -> None:
    hub = slack_fake.socket_mode
    connect(lambda request: None)
    hub.request_refresh()
    wait_for(lambda: hub.connections_made == 2 and hub.connection_count == 1,
             what="a new connection in place of the old one")  # fmt: skip
    assert SlackDriver.socket_mode(slack_fake).slash_command(text="help").acked_in_time


def test_pushing_with_no_app_connected_is_a_test_bug(slack_fake: SlackFake) -> None:
    with pytest.raises(NoSocketConnection):
        SlackDriver.socket_mode(slack_fake).slash_command(text="help")
    with pytest.raises(ValueError, match="not signed"):
        SlackDriver.socket_mode(slack_fake).slash_command(text="help", tamper="stale")


# -- the websocket itself, with a hand-made client ----------------------------------------------


def _handshake(url: str) -> tuple[socket.socket, BinaryIO, int, dict[str, str], str]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [f"GET {parts.path}?{parts.query} HTTP/1.1", f"Host: {parts.hostname}",
             "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
             "Sec-WebSocket-Version: 13"]  # fmt: skip
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    reader = sock.makefile("rb")
    status = int(reader.readline().split()[1])
    headers = {}
    while line := reader.readline().strip():
        name, _, value = line.decode().partition(":")
        headers[name.lower()] = value.strip()
    return sock, reader, status, headers, key


def _server_frame(reader: BinaryIO) -> tuple[int, bytes]:
    first, second = reader.read(2)
    assert not second & 0x80, "a server must not mask its frames"
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(reader.read(2), "big")
    return first & 0x0F, reader.read(length)


def _open_url(slack_fake: SlackFake) -> str:
    return WebClient(token=APP_TOKEN, base_url=slack_fake.api_url).apps_connections_open(
        app_token=APP_TOKEN
    )["url"]


def test_a_ticket_works_once(slack_fake: SlackFake) -> None:
    slack_fake.expect_rejection("invalid_ticket", method="socket_mode")
    url = _open_url(slack_fake)
    sock, reader, status, headers, key = _handshake(url)
    with sock:
        assert status == 101 and headers["sec-websocket-accept"] == accept_key(key)
        opcode, hello = _server_frame(reader)
        assert opcode == TEXT and json.loads(hello)["type"] == "hello"

        again, _, status, _, _ = _handshake(url)
        again.close()
    assert status == 401
    assert [c.error for c in slack_fake.rejections()] == ["invalid_ticket"]


def test_an_unmasked_client_frame_closes_the_connection(slack_fake: SlackFake) -> None:
    slack_fake.expect_rejection("websocket_protocol_error", method="socket_mode")
    sock, reader, _, _, _ = _handshake(_open_url(slack_fake))
    with sock:
        _server_frame(reader)  # hello
        sock.sendall(_build_data_frame_for_sending("{}", TEXT, masked=0))
        opcode, body = _server_frame(reader)
    assert opcode == CLOSE and int.from_bytes(body[:2], "big") == 1002
    assert slack_fake.rejections()[0].response["response_metadata"]["messages"] == [
        "the client sent an unmasked frame"
    ]


def test_accept_key_matches_rfc_6455_example() -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65_535, 65_536])
def test_frames_round_trip_with_slack_sdks_own_framing(size: int) -> None:
    text = ("x" * size).encode()
    client_frame = _build_data_frame_for_sending(text, TEXT)  # masked, as the client sends
    assert read_frame(io.BytesIO(client_frame)).payload == text

    server_frame = encode_frame(TEXT, text)  # unmasked, read by the client's own parser
    chunks = [server_frame[i : i + 1024] for i in range(0, len(server_frame), 1024)]
    received = _fetch_messages(
        messages=[], receive=lambda *_: chunks.pop(0) if chunks else b"",
        logger=logging.getLogger(__name__),
    )  # fmt: skip
    [(header, payload)] = received
    assert header is not None and header.opcode == TEXT and payload == text


@pytest.mark.parametrize(
    ("frame", "close_code"),
    [
        (_build_data_frame_for_sending("hi", TEXT, masked=0), 1002),  # clients must mask
        (_build_data_frame_for_sending("x" * 126, PING), 1002),  # control frames <= 125 bytes
        (_build_data_frame_for_sending("hi", TEXT, rsv1=1), 1002),  # no extensions agreed
        (_build_data_frame_for_sending("x" * 65_536, TEXT), 1009),  # over the fake's 1 KiB cap
    ],
)
def test_bad_client_frames_are_protocol_errors(frame: bytes, close_code: int) -> None:
    with pytest.raises(ProtocolError) as raised:
        read_frame(io.BytesIO(frame), max_bytes=1024)
    assert raised.value.close_code == close_code
