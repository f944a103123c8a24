"""`python -m bench.relay NAME --source T ... --target U=RATIO ...`: a ceiling hop, no database.

Built like a service's hop with the same clients (orderflow.shared.kafka): a consumer
group over the source topics, batches of up to 500 records, every record produced with
acks=all and awaited before the offsets are committed. What it lacks is exactly what
orderflow adds: the database transaction, the inbox, the outbox and its relay.

Each target gets RATIO records per consumed record (a fraction such as `1/3` or `2`), so
the relay produces as many records per input as the service it stands in for: after n
records in, floor(n * RATIO) are out on that target, each with the key and value of the
record that brought it. Topic and group names take KAFKA_TOPIC_PREFIX, as a service's do.
"""

from __future__ import annotations

import argparse
import asyncio
from fractions import Fraction

from aiokafka import AIOKafkaProducer, ConsumerRecord

from orderflow.shared.kafka import make_consumer, make_producer
from orderflow.shared.settings import KafkaSettings

BATCH = 500


class FanOut:
    """How many records each target gets for the n-th record consumed (integer arithmetic)."""

    def __init__(self, targets: dict[str, Fraction]) -> None:
        self._targets = [(t, r.numerator, r.denominator) for t, r in targets.items() if r > 0]
        self._consumed = 0

    def next(self) -> list[tuple[str, int]]:
        before, self._consumed = self._consumed, self._consumed + 1
        after = self._consumed
        return [(t, after * num // den - before * num // den) for t, num, den in self._targets]


async def _forward(
    producer: AIOKafkaProducer,
    settings: KafkaSettings,
    fan_out: FanOut,
    records: list[ConsumerRecord[bytes, bytes]],
) -> list[asyncio.Future[object]]:
    sent = []
    for record in records:
        for target, count in fan_out.next():
            for _ in range(count):
                topic = settings.topic(target)
                sent.append(await producer.send(topic, record.value, key=record.key))
    return sent


async def relay(name: str, sources: list[str], targets: dict[str, Fraction]) -> None:
    settings = KafkaSettings()  # KAFKA_* from the environment, as a service reads them
    consumer = make_consumer(settings, f"bench-relay-{name}", f"bench-relay-{name}", BATCH)
    producer = make_producer(settings, f"bench-relay-{name}")
    consumer.subscribe([settings.topic(source) for source in sources])
    fan_out = FanOut(targets)
    await consumer.start()
    await producer.start()
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=BATCH)
            sent = [
                future
                for records in batches.values()
                for future in await _forward(producer, settings, fan_out, records)
            ]
            if sent:
                await asyncio.gather(*sent)
            if batches:
                await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()


def target(text: str) -> tuple[str, Fraction]:
    topic, _, ratio = text.rpartition("=")
    if not topic:
        raise argparse.ArgumentTypeError(f"{text!r} is not TOPIC=RATIO")
    return topic, Fraction(ratio)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.relay", description=__doc__)
    parser.add_argument("name", help="names the consumer group and the client")
    parser.add_argument("--source", action="append", required=True, help="a topic to consume")
    parser.add_argument("--target", action="append", type=target, default=[], help="TOPIC=RATIO")
    args = parser.parse_args(argv)
    asyncio.run(relay(args.name, args.source, dict(args.target)))


if __name__ == "__main__":
    main()
