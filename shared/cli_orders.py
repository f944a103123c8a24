"""`orderflow orders show TENANT ORDER_ID`: the order's timeline, from the status-tracker's
read API (`GET /v1/orders/{tenant}/{order_id}/timeline`, CONTRACTS §7), oldest first.

The key is `--api-key`, else ORDERFLOW_API_KEY, else the tenant's first key with scope
`orders:read` in its tenant file (found as the services find it). The status-tracker is
`--url`, else the one of `orderflow run` (ORDERFLOW_HTTP_PORT + 1).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any
from urllib.parse import quote

from orderflow.shared.cli_env import NotFound, described, tenant_registry
from orderflow.shared.service_registry import service_ports

ORDERS_READ = "orders:read"


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("orders", help="read one order")
    actions = parser.add_subparsers(dest="action", required=True)
    show = actions.add_parser(
        "show",
        help="the order's timeline, oldest first",
        **described(__doc__),
    )
    show.add_argument("tenant")
    show.add_argument("order_id")
    show.add_argument("--api-key", default=os.environ.get("ORDERFLOW_API_KEY"))
    show.add_argument("--url", help="the status-tracker's base URL")
    show.add_argument("--json", action="store_true", help="the API's answer as it came")
    show.set_defaults(run=_run)


def _key(tenant: str) -> str:
    registry = tenant_registry()
    for api_key in registry.get(tenant).api_keys:
        if ORDERS_READ in api_key.scopes:
            return api_key.key.get_secret_value()
    raise NotFound(f"tenant {tenant!r} has no API key with scope {ORDERS_READ}; give --api-key")


def _line(event: dict[str, Any]) -> str:
    rest = {k: v for k, v in event.items() if k not in ("at", "received_at", "kind")}
    details = "  ".join(f"{k}={v}" for k, v in rest.items() if v is not None)
    return f"{event.get('at')}  {event.get('kind', '?'):<11} {details}"


async def _run(args: argparse.Namespace) -> int:
    base = args.url or (
        f"http://127.0.0.1:{service_ports(int(os.environ.get('ORDERFLOW_HTTP_PORT', '8080')))['status-tracker']}"
    )
    path = f"/v1/orders/{quote(args.tenant, safe='')}/{quote(args.order_id, safe='')}/timeline"
    headers = {"Authorization": f"Bearer {args.api_key or _key(args.tenant)}"}
    import httpx  # here, not at the top: every other command starts without it (~60 ms)

    try:
        async with httpx.AsyncClient(base_url=base, timeout=10.0) as client:
            answer = await client.get(path, headers=headers)
    except httpx.HTTPError as exc:
        raise NotFound(
            f"the status-tracker does not answer at {base} ({exc}); is `orderflow run` up?"
            " (--url, ORDERFLOW_HTTP_PORT)"
        ) from exc
    if answer.status_code != 200:
        print(f"orderflow orders show: {answer.status_code} {answer.text}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(answer.json(), indent=2))
        return 0
    events = answer.json()["events"]
    print(f"{args.tenant} {args.order_id}: {len(events)} event(s)")
    print("\n".join(_line(event) for event in events))
    return 0
