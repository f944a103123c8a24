"""The five-service topology as a real run shows it, for the chain ceiling to copy.

Measured, not assumed: which topics each service consumes comes from its own `/metrics`
(`orderflow_messages_total{service,topic}`), and how many records each topic carries per
report from the probe's count of every record on it during the run. Who writes a topic is
the public contract (README's architecture table); a topic the project adds later is
taken to belong to the service its name starts with. A service's hop then produces, per
consumed record, its topics' records per report over its consumed records per report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction

import httpx
from prometheus_client.parser import text_string_to_metric_families

from orderflow.shared.topics import (
    COMMISSIONS,
    NOTIFICATIONS,
    ORDER_REPORTS,
    ORDERS_ATTRIBUTION,
    ORDERS_INBOUND,
    ORDERS_LIFECYCLE,
    REWARDS,
    TOUCHPOINTS_INBOUND,
    TOUCHPOINTS_RECORDED,
)

PRODUCER = {
    ORDER_REPORTS: "ingest",
    TOUCHPOINTS_RECORDED: "ingest",
    ORDERS_LIFECYCLE: "status-tracker",
    ORDERS_ATTRIBUTION: "attribution",
    REWARDS: "rewards",
    COMMISSIONS: "rewards",
    NOTIFICATIONS: "notifier",
}
# The real chain enters over HTTP; its ceiling enters through ingest's Kafka input.
ENTRY = ORDERS_INBOUND
INBOUND = (ORDERS_INBOUND, TOUCHPOINTS_INBOUND)


@dataclass(frozen=True)
class Hop:
    """One service as its no-database relay plays it."""

    service: str
    sources: tuple[str, ...]
    targets: dict[str, Fraction]  # records out per record consumed


def watched(topics: Iterable[str]) -> list[str]:
    """The topics services write (what the probe counts): no inbound, no dead letters."""
    return sorted(t for t in topics if t not in INBOUND and not t.endswith(".dlq.v1"))


def producer_of(topic: str, services: Iterable[str]) -> str | None:
    if topic in PRODUCER:
        return PRODUCER[topic]
    head = topic.split(".", 1)[0]
    return next((s for s in services if head in (s, s.replace("-", "_"))), None)


async def consumed_topics(urls: Mapping[str, str]) -> dict[str, set[str]]:
    """Per service, the topics its /metrics says it handled records of."""
    consumed: dict[str, set[str]] = {}
    async with httpx.AsyncClient(timeout=10) as http:
        for service, url in urls.items():
            text = (await http.get(f"{url}/metrics")).text
            consumed[service] = {
                sample.labels["topic"]
                for family in text_string_to_metric_families(text)
                for sample in family.samples
                if sample.name == "orderflow_messages_total" and sample.value > 0
            }
    return consumed


def per_report(totals: Mapping[str, int], reports: int) -> dict[str, Fraction]:
    return {t: Fraction(n, reports).limit_denominator(12) for t, n in totals.items() if n}


def hops(consumed: Mapping[str, set[str]], carried: Mapping[str, Fraction]) -> list[Hop]:
    """Every service's relay: its sources and, per topic it writes, records per input."""
    result = []
    for service, topics in consumed.items():
        sources = sorted(t for t in topics if t in carried)
        inputs = sum((carried[t] for t in sources), Fraction(0))
        if service == PRODUCER[ORDER_REPORTS]:
            sources, inputs = [ENTRY, *sources], inputs + 1
        written = {t: n for t, n in carried.items() if producer_of(t, consumed) == service}
        if not inputs or not written:
            continue
        result.append(Hop(service, tuple(sources), {t: n / inputs for t, n in written.items()}))
    return result


def relay_args(hop: Hop) -> list[str]:
    """`python -m bench.relay` arguments for the hop."""
    args = [hop.service]
    for source in hop.sources:
        args += ["--source", source]
    for topic, ratio in hop.targets.items():
        args += ["--target", f"{topic}={ratio}"]
    return args
