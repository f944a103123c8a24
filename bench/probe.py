"""Watches output topics and notes when each item of a run has come out the other end.

Items are told apart by topic and record key (`<tenant>:<order_id>`), so the probe never
parses a value: its own cost stays small next to the system it measures. It also counts
every record per topic, whatever its key (the fan-out of a run, the chain ceiling's totals).
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
        self.totals: Counter[str] = Counter()  # every record seen, per topic
        self._total_needed: dict[str, int] = {}
        self.total_done_at: dict[str, float] = {}

    def expect(self, topic: str, keys: Iterable[bytes], records_each: int) -> None:
        """A key is done on `topic` (its time noted) once `records_each` of its records arrived."""
        for key in keys:
            self._needed[(topic, key)] = records_each
            self._note((topic, key))

    def expect_total(self, topic: str, count: int) -> None:
        """`topic` is done (its time noted) once `count` records in all have arrived on it."""
        self._total_needed[topic] = count
        self.total_done_at.pop(topic, None)
        self._note_total(topic)

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

    async def wait_total(self, topic: str, timeout_s: float, check: Callable[[], None]) -> None:
        """Until `topic` has the count expect_total() asked for; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout_s
        while topic not in self.total_done_at:
            if time.monotonic() > deadline:
                needed = self._total_needed[topic]
                raise TimeoutError(f"{self.totals[topic]} of {needed} records on {topic} in time")
            check()
            await asyncio.sleep(0.05)

    async def settled(self, quiet_s: float = 1.0, at_most_s: float = 15.0) -> None:
        """Until no record has arrived for `quiet_s` (late events of a run are counted)."""
        deadline = time.monotonic() + at_most_s
        last = sum(self.totals.values())
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < quiet_s and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            now = sum(self.totals.values())
            if now != last:
                last, quiet_since = now, time.monotonic()

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
                    self.totals[record.topic] += 1
                    self._note_total(record.topic)
                    if record.key is not None:
                        item = (record.topic, record.key)
                        self._seen[item] += 1
                        self._note(item)

    def _note(self, item: Item) -> None:
        needed = self._needed.get(item)
        if needed is not None and item not in self.done_at and self._seen[item] >= needed:
            self.done_at[item] = time.monotonic()

    def _note_total(self, topic: str) -> None:
        needed = self._total_needed.get(topic)
        if needed is not None and topic not in self.total_done_at and self.totals[topic] >= needed:
            self.total_done_at[topic] = time.monotonic()
