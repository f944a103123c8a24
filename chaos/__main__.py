"""`python -m chaos` (`make chaos`): faults under load, and what orderflow lost or doubled.

Each scenario runs on a fresh throwaway stack (embedded Postgres, durable, and the broker,
in a temporary directory on free ports) with all five services as processes, under a load
of new confirmed orders with a contributor, and injects its fault:
  sigkill         every service SIGKILLed --kills times, round robin, started again at once
  postgres-down   Postgres stopped for --pg-down-s seconds a third into the load
  relay-kill      a relay SIGKILLed after publishing and before marking sent (--relay-kills)
  broker-restart  the memory-only broker restarted empty (--broker-restarts), topics created
                  again, `orderflow outbox resend --since <scenario start>` for every service
  rebalance       a service scaled 1 -> 3 -> 1 under load (--rebalance-cycles, round robin)
  duplicates      --duplicate-ratio of the records on orders.inbound.v1 sent twice
  poison          --poison-ratio poison records among them (must be dead-lettered)
Then it waits (at most --settle-timeout s) for every report's order.confirmed,
order.attributed, commission.accrued and notification.sent (and each poison record's dead
letter), and counts lost reports and duplicate effects from the topics and the database.
Prints the table, writes chaos/results/latest.json; exit code 1 unless every row has 0
lost and 0 duplicates. `--quick` runs tiny sizes while developing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.history import commit
from bench.report import machine
from chaos.report import table, write_json
from chaos.scenarios import SCENARIOS, run

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
QUICK = {
    "reports": 100, "kill_reports": 200, "rate": 40.0, "kills": 1, "relay_kills": 2,
    "rebalance_cycles": 1, "pg_down_s": 5.0, "settle_timeout": 120.0,
}  # fmt: skip


def say(text: str) -> None:
    print(text, flush=True)


async def chaos(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    for name in args.scenarios:
        with _work_dir(args.keep, name) as work:
            started = time.monotonic()
            try:
                row = await run(SCENARIOS[name], args, work, say)
            except Exception as exc:  # the row says so and fails; the other scenarios still run
                row = {"scenario": name, "error": f"{type(exc).__name__}: {exc}"}
                row["seconds"] = round(time.monotonic() - started, 1)
            rows.append(row)
            say(table([row]) + "\n")
    return rows


@contextlib.contextmanager
def _work_dir(keep: Path | None, name: str) -> Iterator[Path]:
    """A temporary directory, or `keep/<scenario>` kept with its logs when --keep is given."""
    if keep is not None:
        (keep / name).mkdir(parents=True, exist_ok=True)
        yield keep / name
        return
    with tempfile.TemporaryDirectory(prefix=f"orderflow-chaos-{name}-") as tmp:
        yield Path(tmp)


def passed(row: dict[str, Any]) -> bool:
    return "error" not in row and row["lost"] == 0 and row["duplicates"] == 0


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m chaos", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    add = parser.add_argument
    add("--quick", action="store_true", help=f"tiny sizes for development: {QUICK}")
    add("--scenarios", nargs="+", choices=list(SCENARIOS), default=list(SCENARIOS))
    add("--reports", type=int, default=3000, help="reports per scenario (sigkill: --kill-reports)")
    add("--kill-reports", type=int, default=10000, help="reports of the sigkill scenario")
    add("--rate", type=float, default=50.0, help="reports per second sent")
    add("--batch", type=int, default=25, help="reports per POST")
    add("--kills", type=int, default=10, help="SIGKILLs of each service (sigkill)")
    add("--pg-down-s", type=float, default=20.0, help="seconds Postgres is down")
    add("--relay-kills", type=int, default=5, help="relays killed between publish and mark")
    add("--broker-restarts", type=int, default=1, help="broker restarts (broker-restart)")
    add("--rebalance-cycles", type=int, default=4, help="1 -> 3 -> 1 cycles (rebalance)")
    add("--duplicate-ratio", type=float, default=0.10, help="records sent twice (duplicates)")
    add("--poison-ratio", type=float, default=0.01, help="poison records per report (poison)")
    add("--settle-timeout", type=float, default=300.0, help="seconds allowed after the load")
    add("--keep", type=Path, help="run each scenario in <KEEP>/<scenario> and keep its logs")
    add("--output", type=Path, default=RESULTS, help="where the JSON goes")
    args = parser.parse_args(argv)
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    # The broker-restart scenario makes aiokafka log every failed fetch; the table tells.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    info, started = machine(), datetime.now(UTC)
    rows = asyncio.run(chaos(args))
    say("\n" + table(rows))
    ok = all(passed(row) for row in rows)
    say("PASS: 0 lost, 0 duplicate effects in every row" if ok else "FAIL: see the rows above")
    settings = {k: v for k, v in vars(args).items() if k not in ("output", "quick", "keep")}
    document = {
        "started_at": started.isoformat(), "finished_at": datetime.now(UTC).isoformat(),
        "commit": commit(), "machine": info, "settings": settings, "passed": ok, "rows": rows,
    }  # fmt: skip
    write_json(args.output, document)
    say(f"written to {args.output}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
