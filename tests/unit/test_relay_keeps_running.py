"""The relay outlives a broker error that aiokafka calls non-retriable (issue 9 item 5).

Tansu answers `UnknownError` while it restarts. The relay already chose not to park such a
row (`can_never_publish` is false), but `run()` re-raised the error because aiokafka does
not mark it retriable: the relay task died, and with it the whole service (found by
`make chaos`'s broker-restart scenario). Here the relay's database and broker are fakes:
one row, a first publish refused with UnknownError, then accepted.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import asyncpg
from aiokafka import AIOKafkaProducer
from aiokafka.errors import UnknownError
from aiokafka.producer.message_accumulator import BatchBuilder
from faststream.kafka import KafkaBroker

from orderflow.shared.relay import OutboxRelay
from orderflow.shared.relay_publish import BatchSender
from orderflow.shared.settings import KafkaSettings, ServiceSettings

ROW = {"id": 1, "event_id": "e-1", "topic": "t", "key": b"k", "value": b"{}", "headers": None}


class Outbox:
    """The few statements the relay sends, over one row."""

    def __init__(self) -> None:
        self.sent_ids: list[int] = []

    async def fetchval(self, query: str, *args: Any) -> bool:
        return True  # the advisory lock: this relay leads

    async def fetch(self, query: str, *args: Any) -> list[dict[str, Any]]:
        return [] if self.sent_ids else [ROW]

    async def fetchrow(self, query: str, *args: Any) -> dict[str, int]:
        return {"pending": 0 if self.sent_ids else 1, "parked": 0}

    async def execute(self, query: str, *args: Any) -> str:
        if query.startswith("UPDATE outbox SET sent_at"):
            self.sent_ids.extend(args[0])
        return "UPDATE 1"

    async def close(self) -> None:
        return None

    def is_closed(self) -> bool:
        return False


class Broker:
    _max_request_size = 1048576  # as the producer's default

    def __init__(self, refusals: int) -> None:
        self.refusals, self.published = refusals, 0

    async def partitions_for(self, topic: str) -> set[int]:
        return {0}

    def create_batch(self) -> BatchBuilder:
        return BatchBuilder(16384, 0)

    async def send_batch(
        self, batch: BatchBuilder, *args: Any, **kwargs: Any
    ) -> asyncio.Future[object]:
        """As the broker's aiokafka producer: the batch's delivery future, failed the first times."""
        done: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        if self.refusals:
            self.refusals -= 1
            done.set_exception(UnknownError())
        else:
            self.published += batch.record_count()
            done.set_result(None)
        return done


async def test_an_unknown_broker_error_is_retried_and_the_row_published_later() -> None:
    outbox, broker = Outbox(), Broker(refusals=1)

    async def connect() -> asyncpg.Connection:
        return cast(asyncpg.Connection, outbox)  # the fake has the statements the relay runs

    settings = ServiceSettings(relay_poll_interval_s=0.05)
    # The fake stands in for the broker and for its producer: it has the methods used.
    fake_broker = cast(KafkaBroker, broker)

    def fake_producer(_: KafkaBroker) -> AIOKafkaProducer:
        return cast(AIOKafkaProducer, broker)

    relay = OutboxRelay("svc", connect, fake_broker, KafkaSettings(), settings)
    relay.sender = BatchSender(fake_broker, KafkaSettings(), producer_of=fake_producer)
    running = asyncio.create_task(relay.run())
    try:
        async with asyncio.timeout(10):
            while not outbox.sent_ids:
                assert not running.done(), f"the relay stopped: {running.exception()!r}"
                await asyncio.sleep(0.05)
    finally:
        relay.stop()
        await asyncio.wait_for(running, 5)
    assert (outbox.sent_ids, broker.published) == ([1], 1)
