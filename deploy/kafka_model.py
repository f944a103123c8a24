"""Who reads and writes which Kafka topic, from the code: what the generated manifests derive from.

Each service's `events.py` declares the topics it consumes (`reads`) and writes (`writes`,
plus its dead-letter topic); its consumer group is its name (`shared/service.py`). The
topics the system needs are `shared/topics.py`'s `all_topics`. Nothing here is listed by
hand, so a topic added in code reaches the KafkaTopics, the ACLs and the autoscalers at the
next `make docs` (and a unit test fails until then).
"""

from __future__ import annotations

from dataclasses import dataclass

from orderflow.shared.asyncapi import declared_services
from orderflow.shared.cli import SERVICES
from orderflow.shared.topics import DEFAULT_PARTITIONS, TopicSpec, all_topics, dead_letter_topic

# The Strimzi Kafka cluster the KafkaTopics and KafkaUsers belong to (label strimzi.io/cluster);
# its bootstrap Service is `<cluster>-kafka-bootstrap`, its CA Secret `<cluster>-cluster-ca-cert`.
CLUSTER = "orderflow"


@dataclass(frozen=True)
class Client:
    """One service as a Kafka client: its principal, its group, what it reads and writes."""

    service: str
    reads: frozenset[str]
    writes: frozenset[str]

    @property
    def user(self) -> str:
        return f"orderflow-{self.service}"

    @property
    def group(self) -> str:
        return self.service


def clients() -> list[Client]:
    """Every registered service, in the registry's order."""
    declared = {s.service: s for s in declared_services()}
    assert set(declared) == set(SERVICES), "every registered service declares its events"
    return [
        Client(
            service=name,
            reads=frozenset(declared[name].reads),
            writes=frozenset(out.topic for out in declared[name].outputs()),
        )
        for name in SERVICES
    ]


def topics() -> list[TopicSpec]:
    """The topics a running system needs, with the partitions services would create them with."""
    return all_topics(tuple(SERVICES), DEFAULT_PARTITIONS)


def dead_letter_topics() -> set[str]:
    return {dead_letter_topic(s) for s in SERVICES}
