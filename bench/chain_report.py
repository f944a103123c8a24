"""What the full-chain stack measured, as JSON parts and as printed text: the chain beside
its ceiling, the open-loop latencies, RSS per service, and the tracker's replicas."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bench.chain import Chain
from bench.chain_ceiling import describe
from bench.openloop import summary as open_loop_summary
from bench.phases import Run
from bench.report import grid, latency, summary
from orderflow.shared.topics import NOTIFICATIONS


def chain_part(chain: Chain) -> dict[str, Any]:
    ceiling = chain.ceiling
    return {
        "full_chain": summary(chain.run, ceiling.per_s),
        "chain_ceiling": {
            "reports": ceiling.reports,
            "seconds": round(ceiling.seconds, 3),
            "reports_per_s": round(ceiling.per_s, 1),
        },
        "records_per_report": {topic: str(n) for topic, n in chain.carried.items()},
        "ceiling_topology": describe(chain.hops),
    }


def open_loop_part(chain: Chain) -> dict[str, Any] | None:
    return open_loop_summary(chain.open_loop) if chain.open_loop else None


def replicas_part(trackers: Sequence[Run]) -> dict[str, Any]:
    runs = {
        str(run.name.removeprefix("tracker-x")): {
            "reports": run.reports,
            "seconds": round(run.seconds, 3),
            "reports_per_s": round(run.per_s, 1),
            **latency(run.latencies_s),
            **run.notes,
        }
        for run in trackers
    }
    if "1" in runs and "2" in runs:
        runs["scaling"] = {"x2_over_x1": round(trackers[1].per_s / trackers[0].per_s, 2)}
    return runs


def chain_text(part: dict[str, Any]) -> str:
    chain, ceiling = part["full_chain"], part["chain_ceiling"]
    rows = [
        ("path", "reports", "seconds", "reports/s", "p50 ms", "p99 ms", "vs chain ceiling"),
        (
            "HTTP batches -> all five services -> notification.sent",
            str(chain["reports"]),
            f"{chain['seconds']:.2f}",
            f"{chain['reports_per_s']:.0f}",
            f"{chain['p50_ms']:.0f}",
            f"{chain['p99_ms']:.0f}",
            f"{chain['vs_ceiling']:.3f}",
        ),
        (
            "chain ceiling: the same five-service topology, no database",
            str(ceiling["reports"]),
            f"{ceiling['seconds']:.2f}",
            f"{ceiling['reports_per_s']:.0f}",
            "",
            "",
            "1.000",
        ),
    ]
    stages = [f"{topic} {hop['p50_ms']:.0f}" for topic, hop in chain["hops"].items()]
    stages.append(f"{NOTIFICATIONS} {chain['p50_ms']:.0f}")
    per_report = ", ".join(f"{t} {n}" for t, n in part["records_per_report"].items())
    return "\n".join(
        [
            grid(rows),
            "full chain, p50 ms from send to each stage: " + ", ".join(stages),
            f"records per report, measured in the full chain (the ceiling copies them): {per_report}",
            "chain ceiling relays (records out per record in):",
            *(f"  {_relay(name, hop)}" for name, hop in part["ceiling_topology"].items()),
        ]
    )


def _relay(name: str, hop: dict[str, Any]) -> str:
    out = ", ".join(f"{topic} x {ratio}" for topic, ratio in hop["out_per_input"].items())
    return f"{name}: {' + '.join(hop['sources'])} -> {out}"


def open_loop_text(part: dict[str, Any] | None) -> str:
    if part is None:
        return "open loop: not run (--open-seconds 0)"
    head = (
        f"open loop, {part['rate_per_s']:g} reports/s for {part['seconds']:g} s over HTTP"
        f" ({part['batch']} per POST on schedule; sent at {part['achieved_per_s']}/s,"
        f" sender at most {part['max_send_lag_ms']:.0f} ms late"
        + (f", {part['failed_posts']} POSTs failed" if part["failed_posts"] else "")
        + (f", {part['refused_429']} answers 429" if part["refused_429"] else "")
        + "), from due time to:"
    )
    lines = [head]
    for topic, stats in part["to"].items():
        p50, p99 = (_ms(stats[k]) for k in ("p50_ms", "p99_ms"))
        late = f", {stats['not_through']} not through in time" if stats["not_through"] else ""
        lines.append(f"  {topic}: p50 {p50}, p99 {p99}{late}")
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "not through" if value is None else f"{value:.0f} ms"


def rss_text(rss: dict[str, dict[str, float]]) -> str:
    if not rss:
        return ""
    rows = [("service", "RSS MiB at end of load", "peak MiB")]
    rows += [(name, f"{v['end_mib']:.0f}", f"{v['peak_mib']:.0f}") for name, v in rss.items()]
    return grid(rows)


def replicas_text(part: dict[str, Any]) -> str:
    if "1" not in part:
        return "status-tracker replicas: not run (--replica-reports 0)"
    text = ", ".join(
        f"{k} replica{'s' if k != '1' else ''} {v['reports_per_s']:.0f} reports/s"
        f" ({v['replicas_holding_partitions']} holding partitions)"
        for k, v in part.items()
        if k != "scaling"
    )
    scaling = part.get("scaling", {}).get("x2_over_x1")
    return f"status-tracker alone, same six partitions: {text}; x2/x1 = {scaling}"


def goals_text(goals: list[dict[str, Any]]) -> str:
    """One line per goal of issue 8: met, missed, or not measured, with this run's number."""
    verdict = {True: "met   ", False: "MISSED", None: "not run"}
    return "goals:\n" + "\n".join(
        f"  {verdict[g['met']]} {g['goal']} (this run: {_value(g['value'])})" for g in goals
    )


def _value(value: float | str | None) -> str:
    return "-" if value is None else (value if isinstance(value, str) else f"{value:g}")
