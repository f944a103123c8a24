"""The validation load of `python -m bench --segments` from wrk (a C load generator, Debian
package `wrk`, `make wrk`): one thread keeps `clients` keep-alive connections busy for far
less CPU a request than any Python client, so on a shared 2-core machine the server, not
the load generator, is what is measured. bench/segments_validate.lua builds each request
(a random seeded customer) and prints the figures as one JSON line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench.segments_load import CART, TENANT

SCRIPT = Path(__file__).resolve().parent / "segments_validate.lua"


def available() -> bool:
    return shutil.which("wrk") is not None


def _wrk(url: str, key: str, customers: int, seconds: float, clients: int) -> dict[str, Any]:
    env = {
        **os.environ,
        "BENCH_API_KEY": key,
        "BENCH_CUSTOMERS": str(customers),
        "BENCH_CART": json.dumps(CART),
    }
    command = [
        "wrk",
        "-t1",
        f"-c{clients}",
        f"-d{seconds:g}s",
        "--timeout",
        "30s",
        "-s",
        str(SCRIPT),
    ]
    done = subprocess.run(
        [*command, f"{url}/v1/validations/{TENANT}"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    lines = [x for x in done.stdout.splitlines() if x.startswith("BENCH ")]
    if not lines:
        raise RuntimeError(f"wrk printed no figures: {done.stdout!r} {done.stderr!r}")
    found: dict[str, Any] = json.loads(lines[-1].removeprefix("BENCH "))
    if found["non_2xx"] or found["socket_errors"] or not found["requests"]:
        raise RuntimeError(f"validations failed under wrk: {found}")
    return found


def validations(url: str, key: str, customers: int, seconds: float, clients: int) -> dict[str, Any]:
    """The same figures as `segments_load.validations`, after one second of warm-up."""
    warm = _wrk(url, key, customers, 1.0, clients)
    run = _wrk(url, key, customers, seconds, clients)
    return {
        "requests": run["requests"],
        "answered": warm["requests"] + run["requests"],
        "per_s": round(run["requests"] / (run["duration_us"] / 1e6), 1),
        "p50_ms": round(run["p50_us"] / 1000, 2),
        "p99_ms": round(run["p99_us"] / 1000, 2),
        "max_ms": round(run["max_us"] / 1000, 2),
        "concurrency": clients,
        "client": "wrk (1 thread)",
    }
