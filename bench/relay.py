"""`python -m bench.relay SOURCE TARGET`: the ceiling's consume -> produce hop, no database.

Built like a service's hop with the same clients (orderflow.shared.kafka): a consumer
group, batches of up to 500 records, every record produced with acks=all and awaited
before the offsets are committed. What it lacks is exactly what orderflow adds: the
database transaction, the inbox, the outbox and its relay.
"""

from __future__ import annotations

import asyncio
import sys

from orderflow.shared.kafka import make_consumer, make_producer
from orderflow.shared.settings import KafkaSettings

BATCH = 500


async def relay(source: str, target: str) -> None:
    settings = KafkaSettings()  # KAFKA_* from the environment, as a service reads them
    consumer = make_consumer(settings, f"bench-relay-{source}", "bench-relay", BATCH)
    producer = make_producer(settings, "bench-relay")
    consumer.subscribe([settings.topic(source)])
    await consumer.start()
    await producer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=BATCH)
            sent = [
                await producer.send(settings.topic(target), record.value, key=record.key)
                for records in batches.values()
                for record in records
            ]
            if sent:
                await asyncio.gather(*sent)
                await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()


if __name__ == "__main__":
    asyncio.run(relay(sys.argv[1], sys.argv[2]))
