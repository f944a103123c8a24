"""The machine, the two-hop table, and the JSON written to bench/results/latest.json."""

from __future__ import annotations

import json
import os
import platform
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.phases import Run


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "cpu_model": _proc_field("/proc/cpuinfo", "model name") or platform.processor(),
        "memory_gib": _memory_gib(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
    }


def _proc_field(path: str, name: str) -> str | None:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    return None


def _memory_gib() -> float | None:
    total = _proc_field("/proc/meminfo", "MemTotal")  # "24683504 kB"
    return round(int(total.split()[0]) / 1024**2, 1) if total else None


def percentile_ms(latencies_s: Sequence[float], percent: int) -> float:
    cuts = statistics.quantiles(latencies_s, n=100, method="inclusive")
    return round(cuts[percent - 1] * 1000, 1)


def latency(latencies_s: Sequence[float]) -> dict[str, float]:
    return {"p50_ms": percentile_ms(latencies_s, 50), "p99_ms": percentile_ms(latencies_s, 99)}


def _hops(run: Run) -> dict[str, Any]:
    """Every stage before the last, in order: when all reports were out there, and latency."""
    return {
        topic: {"all_out_after_s": round(seconds, 3), **latency(latencies)}
        for topic, (seconds, latencies) in run.stages.items()
    }


def _first_hop(run: Run) -> dict[str, Any]:
    return dict(list(_hops(run).items())[:1])


def summary(run: Run, ceiling_per_s: float) -> dict[str, Any]:
    hops = _hops(run)
    return {
        "name": run.name,
        "reports": run.reports,
        "seconds": round(run.seconds, 3),
        "reports_per_s": round(run.per_s, 1),
        **latency(run.latencies_s),
        "vs_ceiling": round(run.per_s / ceiling_per_s, 3),
        "first_hop": _first_hop(run),
        **({"hops": hops} if len(hops) > 1 else {}),
        **run.notes,
    }


def single_summary(run: Run) -> dict[str, Any]:
    return {"reports": run.reports, **latency(run.latencies_s), "first_hop": _first_hop(run)}


LABELS = {
    "http": "HTTP batches -> ingest -> status-tracker",
    "kafka": "orders.inbound.v1 -> ingest -> status-tracker",
    "ceiling": "ceiling: 2-hop Kafka relay, no database",
}
HEADER = (
    "path",
    "reports",
    "seconds",
    "reports/s",
    "p50 ms",
    "p99 ms",
    "vs ceiling",
    "hop 1 out s",
    "hop 1 p50 ms",
)


def _row(result: dict[str, Any]) -> tuple[str, ...]:
    hop = next(iter(result["first_hop"].values()))
    return (
        LABELS.get(result["name"], result["name"]),
        str(result["reports"]),
        f"{result['seconds']:.2f}",
        f"{result['reports_per_s']:.0f}",
        f"{result['p50_ms']:.0f}",
        f"{result['p99_ms']:.0f}",
        f"{result['vs_ceiling']:.2f}",
        f"{hop['all_out_after_s']:.2f}",
        f"{hop['p50_ms']:.0f}",
    )


def table(results: Sequence[dict[str, Any]]) -> str:
    return grid([HEADER, *map(_row, results)])


def grid(lines: Sequence[Sequence[str]]) -> str:
    """Columns aligned, the first to the left and the others to the right, a rule under row 1."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = [
        "  ".join(
            c.rjust(w) if i else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    return "\n".join([text[0], "-" * len(text[0]), *text[1:]])


def single_text(single: dict[str, Any]) -> str:
    hop = next(iter(single["first_hop"].values()))
    return (
        f"one report at a time over HTTP ({single['reports']} reports, no queueing):"
        f" p50 {single['p50_ms']:.0f} ms, p99 {single['p99_ms']:.0f} ms to its lifecycle events"
        f" (hop 1 p50 {hop['p50_ms']:.0f} ms)"
    )


def machine_text(info: dict[str, Any]) -> str:
    return (
        f"machine: {info['cores']} cores, {info['cpu_model']}, {info['memory_gib']} GiB,"
        f" Python {info['python']}, load {info['load_avg_1m_at_start']} at start"
    )


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
