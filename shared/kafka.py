"""aiokafka clients built from settings, with the guarantees we rely on.

aiokafka's producer defaults to acks=1; ours always waits for every in-sync replica.
aiokafka keeps at most one batch in flight per partition, so records of one key are
written in the order they were sent, with or without the idempotent producer.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from orderflow.shared.settings import KafkaSettings


def make_producer(settings: KafkaSettings, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.enable_idempotence,
        linger_ms=2,
        request_timeout_ms=15000,
        **settings.client_options(),
    )


def make_consumer(
    settings: KafkaSettings, group_id: str, client_id: str, max_records: int
) -> AIOKafkaConsumer:
    # Offsets are committed by the runner after the database commit, never automatically.
    return AIOKafkaConsumer(
        client_id=client_id,
        group_id=settings.topic(group_id),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=max_records,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        session_timeout_ms=10000,
        heartbeat_interval_ms=1000,
        isolation_level="read_uncommitted",
        **settings.client_options(),
    )
