"""FastStream wiring of the one batch subscriber, on FastStream's in-memory TestKafkaBroker.

This proves wiring only (TestKafkaBroker has no offsets); offsets, redelivery and ordering are
proved on the real broker in tests/integration/test_runner.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from faststream import AckPolicy
from faststream.kafka import TestKafkaBroker

from orderflow.shared.kafka import make_broker, subscribe_batches
from orderflow.shared.settings import KafkaSettings


async def test_poison_bytes_reach_the_runner_undecoded_and_nothing_is_acked() -> None:
    settings = KafkaSettings(topic_prefix="wiring.")
    broker = make_broker(settings, client_id="wiring", graceful_timeout_s=1.0)
    received: list[Sequence[Any]] = []

    async def on_batch(records: Sequence[Any], consumer: Any) -> None:
        received.append(records)

    subscribe_batches(
        broker,
        settings,
        topics=["wiring.in.v1"],
        group="wiring",
        max_records=10,
        listener=None,
        on_batch=on_batch,
    )
    (subscriber,) = broker.subscribers
    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(b"\xff\xfe not json {", "wiring.in.v1", key=b"shop:1")
        await test_broker.publish(b'{"valid": "json"}', "wiring.in.v1", key=b"shop:2")
    assert [[r.value for r in batch] for batch in received] == [
        [b"\xff\xfe not json {"],
        [b'{"valid": "json"}'],
    ]
    assert subscriber.ack_policy is AckPolicy.MANUAL
    assert subscriber._outer_config.broker_config.allow_auto_create_topics is False  # type: ignore[attr-defined]
