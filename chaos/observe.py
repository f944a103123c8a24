"""Reads what orderflow published, the whole time, and remembers every event it saw.

No consumer group: every partition of every watched topic, from the beginning. Each event
is noted under its effect, `(type, subject)`: the subject is the order id, or the original
key for a dead letter. One effect may be seen several times with the same event id (at
least once on the wire); two event ids for one effect are a duplicate effect.

The broker may lose everything mid-run (the broker-restart scenario): `restart()` opens a
new consumer on the new, empty topics and reads them from the beginning again, keeping all
that was seen before, so an event published before the loss still counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Mapping, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition

from orderflow.shared.settings import KafkaSettings

Effect = tuple[str, str]  # (event type, or "dead_letter@<topic>"; order id or record key)


class Observer:
    def __init__(self, kafka: KafkaSettings, topics: Sequence[str]) -> None:
        self._kafka, self._topics = kafka, [kafka.topic(t) for t in topics]
        self.seen: dict[Effect, dict[str, float]] = defaultdict(dict)  # -> event id -> first seen
        self.records: Counter[str] = Counter()  # every record read, per topic
        self.unreadable = 0
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Observer]:
        await self._start()
        try:
            yield self
        finally:
            await self._stop()

    async def restart(self) -> None:
        await self._stop()
        await self._start()

    def first_seen(self, effect: Effect) -> float | None:
        times = self.seen.get(effect)
        return min(times.values()) if times else None

    def missing(self, expected: Mapping[str, Sequence[str]]) -> list[Effect]:
        """Expected effects (subject -> types) not seen yet."""
        return [
            (kind, subject)
            for subject, kinds in expected.items()
            for kind in kinds
            if (kind, subject) not in self.seen
        ]

    async def wait_for(
        self, expected: Mapping[str, Sequence[str]], timeout_s: float
    ) -> list[Effect]:
        """Until every expected effect was seen or `timeout_s` passed; what is still missing."""
        deadline = time.monotonic() + timeout_s
        missing = self.missing(expected)
        while missing and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            missing = [effect for effect in missing if effect not in self.seen]
        return missing

    async def quiet(self, seconds: float, at_most_s: float = 30.0) -> None:
        """Until nothing new arrived for `seconds`: late repeats and duplicates get counted."""
        deadline = time.monotonic() + at_most_s
        last, since = self.records.total(), time.monotonic()
        while time.monotonic() - since < seconds and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            if self.records.total() != last:
                last, since = self.records.total(), time.monotonic()

    async def _start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=2000,
            fetch_max_wait_ms=100,
            **self._kafka.client_options(),
        )
        await self._consumer.start()
        partitions = await self._every_partition(self._consumer)
        self._consumer.assign(partitions)
        await self._consumer.seek_to_beginning(*partitions)
        self._task = asyncio.create_task(self._consume(self._consumer))

    async def _every_partition(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        """Assigned by hand once the metadata lists every partition: a topic created a moment
        ago may not be complete yet, and a subscription would miss what is not there until
        its next metadata refresh, minutes later."""
        deadline = time.monotonic() + 30.0
        while True:
            await consumer._client.force_metadata_update()
            found = {t: consumer.partitions_for_topic(t) or set() for t in self._topics}
            if all(len(p) == self._kafka.topic_partitions for p in found.values()):
                return [TopicPartition(t, p) for t, ps in found.items() for p in sorted(ps)]
            if time.monotonic() > deadline:
                raise TimeoutError(f"topics incomplete: { {t: len(p) for t, p in found.items()} }")
            await asyncio.sleep(0.2)

    async def _stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._consumer is not None:
            # After a broker loss aiokafka's stop() can raise anything, CancelledError from
            # its own fetch task included: wait for it without letting that reach us.
            stopping = asyncio.ensure_future(self._consumer.stop())
            await asyncio.wait([stopping])
            if not stopping.cancelled():
                stopping.exception()  # retrieved, so asyncio does not log it
        self._task = self._consumer = None

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            try:
                batches = await consumer.getmany(timeout_ms=200)
            except Exception:  # the broker went away; restart() opens a new consumer
                await asyncio.sleep(0.5)
                continue
            now = time.monotonic()
            for records in batches.values():
                for record in records:
                    self.records[record.topic] += 1
                    self._note(record.topic, record.value, now)

    def _note(self, topic: str, value: bytes | None, now: float) -> None:
        try:
            event = json.loads(value or b"")
            kind, event_id = str(event["type"]), str(event["event_id"])
            subject = event["data"]["key"] if kind == "dead_letter" else event["order_id"]
        except (ValueError, KeyError, TypeError):
            self.unreadable += 1
            return
        if kind == "dead_letter":
            kind = f"dead_letter@{topic.removeprefix(self._kafka.topic_prefix)}"
        self.seen[(kind, str(subject))].setdefault(event_id, now)
