"""The benchmark's own arithmetic: what the chain ceiling's relays produce, what the bench
then waits for, the topology taken from a run, percentiles and the run history."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

from bench import history
from bench.chain_ceiling import owed
from bench.openloop import nearest_rank
from bench.relay import FanOut
from bench.topology import ENTRY, Hop, hops, per_report

# As a full chain with rewards' member-keyed facts showed it (records per report).
CARRIED = {
    "ingest.reports.v1": Fraction(1),
    "orders.lifecycle.v1": Fraction(2),
    "orders.attribution.v1": Fraction(1),
    "rewards.member-facts.v1": Fraction(1),
    "commissions.v1": Fraction(1),
    "notifications.v1": Fraction(1),
}
CONSUMED = {
    "ingest": set(),
    "status-tracker": {"ingest.reports.v1"},
    "attribution": {"ingest.reports.v1", "orders.lifecycle.v1"},
    "rewards": {"orders.lifecycle.v1", "orders.attribution.v1", "rewards.member-facts.v1"},
    "notifier": {"ingest.reports.v1", "orders.lifecycle.v1", "commissions.v1"},
}


def simulate(topology: list[Hop], entered: int) -> dict[str, int]:
    """Every relay fed until nothing moves: the records each topic ends up holding."""
    fan_outs = {hop.service: FanOut(hop.targets) for hop in topology}
    queues = {ENTRY: entered}
    totals: dict[str, int] = {}
    while any(queues.values()):
        topic = next(t for t, n in queues.items() if n)
        queues[topic] -= 1
        for hop in topology:
            if topic in hop.sources:
                for target, count in fan_outs[hop.service].next():
                    totals[target] = totals.get(target, 0) + count
                    queues[target] = queues.get(target, 0) + count
    return totals


def test_each_service_becomes_a_relay_with_its_records_per_input() -> None:
    by_service = {hop.service: hop for hop in hops(CONSUMED, CARRIED)}
    assert by_service["ingest"].sources == (ENTRY,)
    assert by_service["status-tracker"].targets == {"orders.lifecycle.v1": 2}
    assert by_service["attribution"].targets == {"orders.attribution.v1": Fraction(1, 3)}
    rewards = by_service["rewards"].targets
    assert rewards == {"commissions.v1": Fraction(1, 4), "rewards.member-facts.v1": Fraction(1, 4)}
    assert by_service["notifier"].targets == {"notifications.v1": Fraction(1, 4)}


def test_what_the_bench_waits_for_is_what_the_relays_produce() -> None:
    topology = hops(CONSUMED, CARRIED)
    for entered in (1, 7, 200, 1000):
        produced = simulate(topology, entered)
        assert owed(topology, entered) == produced
        # About one record per report per topic, as the full chain carried.
        assert all(abs(produced[t] - entered * n) <= 1 for t, n in CARRIED.items())


def test_fan_out_spreads_a_fraction_evenly() -> None:
    fan_out = FanOut({"out": Fraction(2, 3), "none": Fraction(0)})
    counts = [dict(fan_out.next()) for _ in range(6)]
    assert [c["out"] for c in counts] == [0, 1, 1, 0, 1, 1]
    assert all("none" not in c for c in counts)


def test_records_per_report_are_small_fractions() -> None:
    assert per_report({"a": 2400, "b": 1199, "c": 0}, 1200) == {"a": 2, "b": 1}


def test_a_report_not_through_makes_the_high_percentiles_infinite() -> None:
    latencies = [0.1] * 98 + [0.2, math.inf]
    assert nearest_rank(latencies, 50) == 0.1
    assert nearest_rank(latencies, 99) == 0.2
    assert nearest_rank(latencies, 100) == math.inf


def test_the_previous_run_is_the_last_with_the_same_sizes(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    small, full = {"reports": 500}, {"reports": 10000}
    for date, settings, speed in [("d1", full, 400.0), ("d2", small, 900.0)]:
        doc = {"finished_at": date, "commit": {"commit": "c", "dirty": False}, "machine": {}}
        history.append({**doc, "settings": settings, "headline": {"http": speed}}, path)
    before = history.previous(full, path)
    assert before is not None and before["date"] == "d1"
    now = {"settings": full, "headline": {"http": 300.0}}
    assert "-25%" in history.comparison(now, before, path)
    other_sizes = history.previous({"reports": 1}, path)
    assert other_sizes is not None and other_sizes["date"] == "d2"
    assert history.previous(full, tmp_path / "none.jsonl") is None
