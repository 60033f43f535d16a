"""What the Slack fake does for the sandbox page: a slash command's ack message shows before
anything the app posts after it, and a user can close a modal (Cancel, Escape, close)."""

import json
from urllib.parse import parse_qs

import requests

from bot.web.server import start_http_in_thread
from sandbox.slack_fake import SlackDriver


def _answers_before_acking(environ, start_response):
    """A worst-case app: it answers through response_url before its ack reaches Slack."""
    size = int(environ.get("CONTENT_LENGTH") or 0)
    form = parse_qs(environ["wsgi.input"].read(size).decode())
    requests.post(form["response_url"][0], json={"text": "the answer"}, timeout=5)
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b'{"response_type": "ephemeral", "text": ":hourglass_flowing_sand: Working\\u2026"}']


def test_the_ack_message_comes_before_the_answer_even_when_the_answer_is_first(slack_fake):
    app = start_http_in_thread(_answers_before_acking)
    try:
        driver = SlackDriver(f"{app.url}/slack/events", "secret", slack_fake)
        sent = driver.slash_command(command="/deal", text="show X1")
    finally:
        app.stop()
    assert sent.status == 200
    shown = slack_fake.ephemerals(user_id="U0BROKER1", channel="C0DEALS")
    assert [m.text for m in shown] == [":hourglass_flowing_sand: Working…", "the answer"]
    assert float(shown[0].ts) < float(shown[1].ts)


def test_a_user_closes_their_top_modal(slack_fake):
    driver = SlackDriver("http://127.0.0.1:9/slack/events", "secret", slack_fake)
    store = slack_fake.store
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Add"}, "blocks": []}
    with store.lock:
        first = store.store_view(view=view, user_id="U0BROKER1", previous=None)
        second = store.store_view(view=view, user_id="U0BROKER1", previous=first["id"])
    assert not driver.close_view(first["id"], user_id="U0BROKER1")  # not the top one
    assert driver.close_view(second["id"], user_id="U0BROKER1")
    assert [v["id"] for v in slack_fake.views("U0BROKER1")] == [first["id"]]
    assert not driver.close_view(second["id"], user_id="U0BROKER1")  # already closed


def test_closing_a_view_that_asked_for_notify_on_close_tells_the_app(slack_fake):
    seen = []

    def app(environ, start_response):
        size = int(environ.get("CONTENT_LENGTH") or 0)
        seen.append(json.loads(parse_qs(environ["wsgi.input"].read(size).decode())["payload"][0]))
        start_response("200 OK", [])
        return [b""]

    served = start_http_in_thread(app)
    try:
        driver = SlackDriver(f"{served.url}/slack/events", "secret", slack_fake)
        view = {"type": "modal", "title": {"type": "plain_text", "text": "Add"}, "blocks": [],
                "callback_id": "add_form", "notify_on_close": True}  # fmt: skip
        with slack_fake.store.lock:
            opened = slack_fake.store.store_view(view=view, user_id="U0AGENT01", previous=None)
        assert driver.close_view(opened["id"], user_id="U0AGENT01")
    finally:
        served.stop()
    assert [(p["type"], p["view"]["id"], p["user"]["id"]) for p in seen] == [
        ("view_closed", opened["id"], "U0AGENT01")
    ]
