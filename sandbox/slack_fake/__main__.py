"""Run the Slack fake on its own, for the sandbox demo or a bot in another process.

python -m sandbox.slack_fake --port 8765
SLACK_API_URL=http://127.0.0.1:8765/api/ SLACK_BOT_TOKEN=xoxb-fake-bot-token dealfinder ...
"""

from __future__ import annotations

import argparse
import contextlib
import threading

from sandbox.slack_fake.config import BOT_TOKEN
from sandbox.slack_fake.fake import SlackFake


def main(argv: list[str] | None = None) -> None:
    """Serve a fake workspace until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.slack_fake", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    options = parser.parse_args(argv)
    with SlackFake().serve(host=options.host, port=options.port) as served:
        print(f"Slack fake on {served.url}")
        print(f"  SLACK_API_URL={served.api_url}  SLACK_BOT_TOKEN={BOT_TOKEN}")
        print(f"  state: {served.url}/_fake/state  calls: {served.url}/_fake/calls")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
