"""`python -m sandbox.ghl_emulator --port 8765 --demo`: serve the GHL emulator until Ctrl-C.

`--locations 10` adds an agency of ten sub-accounts (`sandbox.ghl_emulator.agency`); the rate
limit flags apply to each location (GHL counts per app per location)."""

from __future__ import annotations

import argparse

from sandbox.ghl_emulator.config import EmulatorConfig
from sandbox.ghl_emulator.server import run_forever


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.ghl_emulator", description="Serve the local GHL API v2 emulator."
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port, 0 for any free (8765)")
    parser.add_argument("--demo", action="store_true", help="load the demo location and buyers")
    parser.add_argument("--buyers", type=int, default=200, help="demo buyers per location (200)")
    parser.add_argument(
        "--locations",
        type=int,
        default=0,
        help="seed an agency of N locations loc_agency_01.. (own data, limits and tokens)",
    )
    parser.add_argument("--seed", type=int, default=1, help="demo data seed (1)")
    parser.add_argument("--burst-max", type=int, default=100, help="requests per burst window")
    parser.add_argument("--burst-ms", type=int, default=10_000, help="burst window in ms")
    parser.add_argument("--daily-max", type=int, default=200_000, help="requests per UTC day")
    parser.add_argument(
        "--no-response-checks",
        action="store_true",
        help="do not check answers against the OpenAPI files (benchmarks: saves the CPU)",
    )
    parser.add_argument(
        "--webhook-url", default=None, help="POST signed GHL webhooks here (e.g. the bot's)"
    )
    args = parser.parse_args(argv)
    if args.locations < 0:
        parser.error(f"--locations must be 0 or more, not {args.locations}")
    config = EmulatorConfig(
        burst_max=args.burst_max,
        burst_interval_ms=args.burst_ms,
        daily_max=args.daily_max,
        webhook_url=args.webhook_url,
        validate_responses=not args.no_response_checks,
    )
    run_forever(
        host=args.host,
        port=args.port,
        config=config,
        demo=args.demo,
        buyers=args.buyers,
        seed=args.seed,
        locations=args.locations,
    )


if __name__ == "__main__":
    main()
