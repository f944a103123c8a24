"""Watches output topics and notes when each item of a run has come out the other end.

Items are told apart by topic and record key (`<tenant>:<order_id>`), so the probe never
parses a value: its own cost stays small next to the system it measures.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence

from aiokafka import AIOKafkaConsumer

from orderflow.shared.settings import KafkaSettings

Item = tuple[str, bytes]  # (topic, record key)


class Probe:
    def __init__(self, kafka: KafkaSettings, topic_names: Sequence[str]) -> None:
        # No consumer group: every partition, from the beginning (the topics start empty).
        self._consumer = AIOKafkaConsumer(
            *topic_names,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=2000,
            # Tansu answers a fetch only when this wait is over, even if records arrived
            # meanwhile: the observer must not add its own half second to every latency.
            fetch_max_wait_ms=20,
            **kafka.client_options(),
        )
        self._seen: Counter[Item] = Counter()
        self._needed: dict[Item, int] = {}
        self.done_at: dict[Item, float] = {}

    def expect(self, topic: str, keys: Iterable[bytes], records_each: int) -> None:
        """A key is done on `topic` (its time noted) once `records_each` of its records arrived."""
        for key in keys:
            self._needed[(topic, key)] = records_each
            self._note((topic, key))

    async def wait(
        self, topic: str, keys: Sequence[bytes], timeout_s: float, check: Callable[[], None]
    ) -> None:
        """Until every key is done; TimeoutError says how many are not. `check` may raise."""
        deadline = time.monotonic() + timeout_s
        while left := sum((topic, key) not in self.done_at for key in keys):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{left} of {len(keys)} reports not out on {topic} in time")
            check()
            await asyncio.sleep(0.005 if len(keys) == 1 else 0.05)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Probe]:
        await self._consumer.start()
        task = asyncio.create_task(self._consume())
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self._consumer.stop()

    async def _consume(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=100)
            for records in batches.values():
                for record in records:
                    if record.key is not None:
                        item = (record.topic, record.key)
                        self._seen[item] += 1
                        self._note(item)

    def _note(self, item: Item) -> None:
        needed = self._needed.get(item)
        if needed is not None and item not in self.done_at and self._seen[item] >= needed:
            self.done_at[item] = time.monotonic()
