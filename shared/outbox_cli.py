"""`orderflow outbox release|resend`: the operator's two levers on the outbox.

- `release` re-queues parked rows (ones the broker refused for good, `orderflow_outbox_parked`)
  once their cause is fixed; the later rows of their keys follow them in order.
- `resend --since T` republishes, in order, every row sent at or after T: after a broker lost
  its data (the local broker is memory-only; a production cluster can lose a topic), the
  services' outboxes hold what was published for `ORDERFLOW_OUTBOX_RETENTION_HOURS`, and
  downstream inboxes absorb what they already had.

Both connect with `DATABASE_URL` (an admin or owner role) to each service's schema.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from orderflow.shared import outbox
from orderflow.shared.cli_env import described
from orderflow.shared.provision import schema_name


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "outbox",
        help="release parked outbox rows, or resend sent ones",
        **described(__doc__),
    )
    actions = parser.add_subparsers(dest="action", required=True)
    release = actions.add_parser("release", help="re-queue parked rows once their cause is fixed")
    release.add_argument("--id", type=int, action="append", dest="ids", help="only these rows")
    resend = actions.add_parser("resend", help="republish rows sent at or after --since")
    resend.add_argument(
        "--since", required=True, type=datetime.fromisoformat, help="ISO time with offset"
    )
    for action in (release, resend):
        action.add_argument(
            "--service", action="append", dest="services", help="default: every service"
        )
    return parser


async def run(args: argparse.Namespace, services: Sequence[str]) -> int:
    url = os.environ.get("DATABASE_URL")
    if not url:
        print("orderflow outbox: set DATABASE_URL to the services' database")
        return 2
    chosen = args.services or list(services)
    unknown = sorted(set(chosen) - set(services))
    if unknown:
        print(f"orderflow outbox: --service: unknown service(s) {', '.join(unknown)}")
        return 2
    if args.action == "resend" and args.since.tzinfo is None:
        print("orderflow outbox: --since: give a time zone offset, e.g. 2026-12-01T10:00:00+00:00")
        return 2
    conn = await asyncpg.connect(url)
    try:
        for service in chosen:
            await conn.execute(f"SET search_path TO {schema_name(service)}")
            if args.action == "release":
                count = await outbox.release(conn, args.ids)
                print(f"{service}: released {count} parked row(s)")
            else:
                count = await outbox.resend(conn, args.since)
                print(f"{service}: {count} row(s) sent since {args.since.isoformat()} queued again")
    finally:
        await conn.close()
    return 0
