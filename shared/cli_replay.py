"""`orderflow replay reports --tenant T [--since] [--until]`: re-emits ingest's stored reports.

Every report of the tenant received in [--since, --until) is published again on
ingest.reports.v1 as the `order.reported` event it first was (same event id, same bytes),
in the order received; downstream inboxes absorb them, so downstream results are unchanged.
Use it after a downstream service lost data it must rebuild, or to feed a new consumer.
"""

from __future__ import annotations

import argparse

from orderflow.shared.cli_dlq import instant
from orderflow.shared.cli_env import connect, described


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("replay", help="re-emit stored inputs downstream")
    kinds = parser.add_subparsers(dest="kind", required=True)
    reports = kinds.add_parser(
        "reports",
        help="ingest's stored reports of a tenant, again on ingest.reports.v1",
        **described(__doc__),
    )
    reports.add_argument("--tenant", required=True)
    reports.add_argument("--since", type=instant, help="received at or after (ISO, with offset)")
    reports.add_argument("--until", type=instant, help="received before (ISO, with offset)")
    reports.set_defaults(run=_run)


async def _run(args: argparse.Namespace) -> int:
    # The CLI is a composition root (see cli_import): ingest's own replay code.
    from orderflow.services.ingest.replay import replay_reports

    async with connect("ingest") as conn:
        count = await replay_reports(conn, args.tenant, args.since, args.until)
    print(
        f"{args.tenant}: {count} report(s) queued again on ingest.reports.v1 (ingest's relay publishes them)"
    )
    return 0
