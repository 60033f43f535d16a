"""One DealFinder worker process for the OAuth refresh race: `python -m tests.oauth_worker
'<json>'` builds its own client from Settings (shared store, same key), waits for a line on
stdin, makes GHL calls from a few threads and prints what happened as JSON."""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor

from bot.oauth_wiring import OAuthParts
from store.db import make_engine
from tests.oauth_world import oauth_settings


def main(args: dict) -> dict:
    settings = oauth_settings(
        emulator_url=args["emulator_url"],
        db_url=args["db_url"],
        key=args["key"],
        redirect="http://127.0.0.1:1/ghl/oauth/callback",
    )
    engine = make_engine(args["db_url"])
    parts = OAuthParts.from_settings(settings, engine=engine, post_ops=lambda text: True)
    client = parts.client_for(args["location_id"])
    print("ready", flush=True)
    sys.stdin.readline()
    with ThreadPoolExecutor(args["threads"]) as pool:
        found = list(pool.map(lambda _: client.locations.get().id, range(args["calls"])))
    engine.dispose()
    return {"ok": found.count(args["location_id"]), "statuses": dict(client.stats.by_status)}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))), flush=True)
