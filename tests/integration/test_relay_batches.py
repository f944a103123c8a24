"""The relay's record batches on the real broker: each key on the partition `producer.send`
would choose, in its order, and an oversized row parked without holding back its neighbours."""

from __future__ import annotations

from collections import defaultdict

import pytest

from orderflow.shared import outbox
from orderflow.shared.envelope import Envelope
from orderflow.shared.partitioner import partition_of
from orderflow.shared.relay_publish import broker_producer
from tests.harness import TopicReader, kafka_settings
from tests.relay_support import event, ingest_relay

pytestmark = pytest.mark.integration
TOPIC, OTHER = "orders.lifecycle.v1", "ingest.reports.v1"


async def _published(env: dict[str, str], count: int) -> dict[bytes, list[tuple[int, int]]]:
    """key -> [(partition, n)] of the records on TOPIC, in offset order per partition."""
    async with TopicReader(env, TOPIC) as reader:
        await reader.read_until(lambda es: len(es) >= count)
        await reader.settle(0.5)
        by_key: dict[bytes, list[tuple[int, int]]] = defaultdict(list)
        for (key, value), partition in zip(reader.records, reader.partitions, strict=True):
            assert key is not None
            by_key[key].append((partition, Envelope.from_bytes(value).data["n"]))
    return by_key


async def test_each_key_lands_where_send_would_put_it_in_its_order(
    stack_env: dict[str, str],
) -> None:
    kafka = kafka_settings(stack_env)
    orders = [f"o-{i}" for i in range(80)]
    async with ingest_relay(stack_env) as (conn, relay):
        await outbox.enqueue_many(
            conn, [(TOPIC, event(o, n), None) for n in (1, 2, 3) for o in orders]
        )
        published = await relay.publish_once(conn)
        # What the producer's own partitioner does with these keys, on a topic of as many
        # partitions: one record a key through producer.send, as the relay sent them before.
        producer = broker_producer(relay.broker)
        partitions = await producer.partitions_for(kafka.topic(TOPIC))
        assert partitions == await producer.partitions_for(kafka.topic(OTHER))
        send_put: dict[bytes, int] = {}
        for order in orders:
            key = f"shop:{order}".encode()
            sent = await (await producer.send(kafka.topic(OTHER), b"probe", key=key))
            send_put[key] = sent.partition
    by_key = await _published(stack_env, 240)
    assert published == 240 and len(by_key) == 80
    assert {key: {p for p, _ in records} for key, records in by_key.items()} == {
        key: {p} for key, p in send_put.items()
    }, "every key on the partition producer.send chose for it"
    assert len(set(send_put.values())) == len(partitions), "the keys spread over all partitions"
    assert all(partition_of(k, list(partitions)) == p for k, p in send_put.items())
    assert {key: [n for _, n in records] for key, records in by_key.items()} == {
        key: [1, 2, 3] for key in send_put
    }, "each key's events in the order they were enqueued"


async def test_an_oversized_row_is_parked_and_its_partition_goes_on_without_its_key(
    stack_env: dict[str, str],
) -> None:
    topic = kafka_settings(stack_env).topic(TOPIC)
    orders = [f"o-{i}" for i in range(40)]
    async with ingest_relay(stack_env) as (conn, relay):
        partitions = list(await broker_producer(relay.broker).partitions_for(topic))
        # o-0's first event, over the 1 MiB limit, amid the others' first events
        firsts = [event(o, 1) for o in orders[1:]]
        firsts.insert(20, event("o-0", 1, padding=2 * 1024 * 1024))
        events = firsts + [event(o, 2) for o in orders]
        await outbox.enqueue_many(conn, [(TOPIC, e, None) for e in events])
        published = await relay.publish_once(conn)
        backlog = await outbox.backlog(conn)
        error = await conn.fetchval("SELECT error FROM outbox WHERE parked_at IS NOT NULL")
    by_key = await _published(stack_env, 78)
    lane = partition_of(b"shop:o-0", partitions)
    neighbours = [o for o in orders[1:] if partition_of(f"shop:{o}".encode(), partitions) == lane]
    assert (published, backlog) == (78, (1, 1)), "o-0's second event waits behind the parked"
    assert "MessageSizeTooLargeError" in error
    assert b"shop:o-0" not in by_key
    assert neighbours and all(
        by_key[f"shop:{o}".encode()] == [(lane, 1), (lane, 2)] for o in neighbours
    ), "the other keys of the parked row's partition are published, in order"
