"""`python -m bench` (`make bench`): orderflow's throughput, latency and memory, in one run.

On throwaway embedded stacks (temporary directories, free ports, durable Postgres):
  two hops    ingest -> status-tracker: `single` (one report at a time over HTTP),
              `http` (concurrent HTTP batches) and `kafka` (orders.inbound.v1), each until
              every report's lifecycle events are out; beside them the `ceiling`, a
              no-database consume -> produce relay over the same two hops, same broker;
  replicas    the status tracker alone, 1 and then 2 replicas on the same partitions, fed
              the records ingest wrote above (reports/s);
  full chain  on a fresh stack, HTTP batches of confirmed orders with a contributor through
              all five services until each commission.accrued and notification.sent is
              out; beside it the chain ceiling: no-database relays in the same five-service
              topology with the same records per input, same broker;
  open loop   on that stack, --open-rate reports/s for --open-seconds over HTTP on a fixed
              schedule: p50/p99 from each report's due time to its commission.accrued and
              its notification.sent; RSS of every service at the end of that load.
Prints everything with the machine and the previous run's numbers, writes
bench/results/latest.json and appends one line to bench/results/history.jsonl.
`--quick` runs small sizes (a minute or two) while developing.
`--recurring` runs only the recurring-charge benchmark (bench/recurring.py): 100,000 charges
due at the same instant all published within 60 s, and the timer's cost when none is due.
`--read` runs only the orders read benchmark (bench/read.py): one tenant's `--read-orders`
orders (1,000,000), filtered list pages, detail, timeline, CSV export (see its goals).
`--import` runs only the import benchmark (bench/import_file.py): `orderflow import orders`
of `--import-rows` CSV rows through to ingest.reports.v1 (goal >= 10,000 rows/s);
`python -m bench.import_ceiling [ROWS]` times each part of it alone (docs/operations.md).
`--payments N` runs only the payments benchmark (bench/payments_in.py): N payment reports
through POST /v1/payments to ingest.payments.v1 (goal >= 1,000 payments/s).
`--sales-reports` runs only the sales-report benchmark (bench/sales_report.py): p95 per `by`
over 1,000,000 orders and 1,500,000 payments (goal <= 1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from bench import history, sales_report, segments
from bench.chain import TENANT_PROGRAMME, full_chain
from bench.chain_report import chain_text, goals_text, open_loop_text, replicas_text, rss_text
from bench.document import NOTES, document
from bench.import_file import import_bench, import_text
from bench.payments_in import payments_bench, payments_text
from bench.pipeline import two_hops
from bench.read import read_bench, read_text
from bench.recurring import recurring_bench, recurring_text
from bench.report import machine, machine_text, single_text, table, write_json
from demo.system import SystemFailed

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
QUICK = {
    "reports": 500, "ceiling_reports": 3000, "chain_reports": 100,
    "chain_ceiling_reports": 500, "single": 10, "open_rate": 50.0, "open_seconds": 5.0,
    "replica_reports": 300, "timeout": 120.0,
}  # fmt: skip


async def bench(args: argparse.Namespace, info: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="orderflow-bench-", ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        api_key = f"bench-{secrets.token_hex(16)}"
        env = {"BENCH_API_KEY": api_key, "ORDERFLOW_TENANTS_DIR": str(_tenant(work / "tenants"))}
        pipeline = await two_hops(work, env, api_key, args, say)
        chain = await full_chain(work / "chain", env, api_key, args, say)
    return document(info, pipeline, chain, args)


Bench = Callable[[Path, dict[str, str]], Awaitable[dict[str, Any]]]


async def _alone(
    run: Bench, text: Callable[[dict[str, Any], dict[str, Any]], str], info: Any
) -> int:
    """One benchmark on its own throwaway stack, its text printed."""
    with tempfile.TemporaryDirectory(prefix="orderflow-bench-", ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        env = {
            "BENCH_API_KEY": f"bench-{secrets.token_hex(16)}",
            "ORDERFLOW_TENANTS_DIR": str(_tenant(work / "tenants")),
        }
        result = await run(work, env)
    say(text(result, info))
    return 0


async def _recurring_only(args: argparse.Namespace, info: dict[str, Any]) -> int:
    run = partial(
        recurring_bench,
        orders=args.recurring_orders,
        replicas=args.recurring_replicas,
        timeout_s=args.timeout,
        say=say,
    )
    return await _alone(run, recurring_text, info)


async def _import_only(args: argparse.Namespace, info: dict[str, Any]) -> int:
    run = partial(import_bench, rows=args.import_rows, timeout_s=args.timeout, say=say)
    return await _alone(run, import_text, info)


async def _payments_only(args: argparse.Namespace, info: dict[str, Any]) -> int:
    return await _alone(partial(payments_bench, args=args, say=say), payments_text, info)


async def _read_only(args: argparse.Namespace, info: dict[str, Any]) -> int:
    orders, rounds = args.read_orders, args.read_rounds

    async def run(work: Path, env: dict[str, str]) -> dict[str, Any]:
        return await read_bench(work, env, env["BENCH_API_KEY"], orders, rounds, say)

    return await _alone(run, read_text, info)


def _tenant(directory: Path) -> Path:
    directory.mkdir(parents=True)
    text = "tenant: bench\nstatus_profile: loyalty\napi_keys: ['${BENCH_API_KEY}']\n"
    text += TENANT_PROGRAMME
    (directory / "bench.yaml").write_text(text)
    return directory


def say(text: str) -> None:
    print(text, flush=True)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    add = parser.add_argument
    add("--quick", action="store_true", help=f"small sizes for development: {QUICK}")
    add("--reports", type=int, default=10000, help="reports per two-hop run")
    add("--batch", type=int, default=500, help="reports per HTTP request (max 1000)")
    add("--clients", type=int, default=4, help="concurrent HTTP clients")
    add("--ceiling-reports", type=int, default=50000, help="records through the 2-hop ceiling")
    add("--chain-reports", type=int, default=1000, help="reports through the full chain")
    add("--chain-ceiling-reports", type=int, default=10000, help="reports through its ceiling")
    add("--single", type=int, default=50, help="reports sent one at a time, for latency")
    add("--open-rate", type=float, default=500.0, help="open loop: reports per second")
    add("--open-seconds", type=float, default=60.0, help="open loop: seconds (0: skip it)")
    add("--open-batch", type=int, default=10, help="open loop: reports per POST")
    add(
        "--replica-reports",
        type=int,
        default=10000,
        help="records through the status tracker alone, per replica count (0: skip);\n"
        "at most 2 x --reports + 450 (what ingest wrote in the two-hop runs)",
    )
    add("--timeout", type=float, default=300.0, help="seconds allowed per run")
    add("--import", dest="import_only", action="store_true", help="only the import benchmark")
    add("--import-rows", type=int, default=100_000, help="rows of the imported CSV")
    add("--recurring", action="store_true", help="only the recurring-charge benchmark")
    add("--recurring-orders", type=int, default=100_000, help="recurring charges due at once")
    add("--recurring-replicas", type=int, default=1, help="status tracker processes (1 or 2)")
    add("--payments", type=int, default=0, help="only the payments benchmark, N reports")
    add("--read", dest="read_only", action="store_true", help="only the orders read benchmark")
    add("--read-orders", type=int, default=1_000_000, help="orders of the read benchmark's tenant")
    add(
        "--read-rounds",
        type=int,
        default=20,
        help="requests per list filter (x10 detail, timeline)",
    )
    add("--output", type=Path, default=RESULTS, help="where the JSON goes")
    add("--history", type=Path, default=history.HISTORY, help="the history one line goes to")
    segments.add_arguments(parser)
    sales_report.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    if args.segments:
        return segments.main(args, say)
    if args.sales_reports:
        return sales_report.main(args, say)
    info = machine()  # before the stack starts: the load average is the machine's, not ours
    if args.import_only:
        return asyncio.run(_import_only(args, info))
    if args.recurring:
        return asyncio.run(_recurring_only(args, info))
    if args.payments:
        return asyncio.run(_payments_only(args, info))
    if args.read_only:
        return asyncio.run(_read_only(args, info))
    try:
        doc = asyncio.run(bench(args, info))
    except (SystemFailed, TimeoutError, RuntimeError) as exc:
        say(f"bench failed: {exc}")
        return 1
    before = history.previous(doc["settings"], args.history)
    say("\n" + table(doc["results"]))
    say(single_text(doc["single_report"]) + "\n")
    say(chain_text(doc["chain"]) + "\n")
    say(open_loop_text(doc["open_loop"]))
    say(rss_text(doc["rss_mib"]) + "\n")
    say(replicas_text(doc["status_tracker_replicas"]) + "\n")
    say(machine_text(info) + f"; commit {doc['commit']['commit']}")
    say("\n".join(NOTES) + "\n")
    say(goals_text(doc["goals"]) + "\n")
    say(history.comparison(doc, before, args.history) + "\n")
    write_json(args.output, doc)
    history.append(doc, args.history)
    say(f"written to {args.output} and one line appended to {args.history}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
