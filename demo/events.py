"""Reads the sections' topics from the beginning and checks the scenarios' expected events."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaConsumer

from demo.scenarios import Expect, Scenario
from orderflow.shared.envelope import Envelope
from orderflow.shared.settings import KafkaSettings

Seen = list[tuple[str, Envelope]]  # (topic, event) in the order the topic holds them


class EventLog:
    """Every event of some topics, by order, in arrival order (per key, decision order)."""

    def __init__(self, kafka: KafkaSettings, topic_names: Sequence[str]) -> None:
        # No consumer group: every partition of each topic, read from its beginning.
        self._consumer = AIOKafkaConsumer(
            *topic_names,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **kafka.client_options(),
        )
        self._by_order: defaultdict[tuple[str, str | None], Seen] = defaultdict(list)

    async def __aenter__(self) -> EventLog:
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._consumer.stop()

    async def poll(self, timeout_ms: int = 200) -> None:
        batches = await self._consumer.getmany(timeout_ms=timeout_ms)
        for partition, records in batches.items():
            for record in records:
                event = Envelope.from_bytes(record.value)
                self._by_order[(event.tenant, event.order_id)].append((partition.topic, event))

    def of(self, scenario: Scenario, topic: str) -> list[Envelope]:
        return self.of_order(scenario.tenant, scenario.order_id, topic)

    def of_order(self, tenant: str, order_id: str, topic: str) -> list[Envelope]:
        seen = self._by_order[(tenant, order_id)]
        return [event for event_topic, event in seen if event_topic == topic]

    def missing(self, scenario: Scenario) -> list[Expect]:
        """Expected events not seen yet; each seen event stands for one expectation at most."""
        unused = list(self._by_order[(scenario.tenant, scenario.order_id)])
        absent = []
        for expect in scenario.expected:
            found = next(
                (i for i, (t, e) in enumerate(unused) if expect.matches(t, e.type, e.data)), None
            )
            if found is None:
                absent.append(expect)
            else:
                del unused[found]
        return absent

    async def wait_for(
        self, scenarios: Sequence[Scenario], timeout_s: float, check: Callable[[], None]
    ) -> dict[str, list[Expect]]:
        """Polls until every scenario has its events or `timeout_s` passes; returns what is
        still missing by order id (empty when complete). `check` may raise to stop early."""
        deadline = time.monotonic() + timeout_s
        while True:
            absent = {s.order_id: m for s in scenarios if (m := self.missing(s))}
            if not absent or time.monotonic() > deadline:
                return absent
            check()
            await self.poll()
