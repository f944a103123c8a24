"""Create the topics a deployment needs, explicitly, before any service starts.

Topics are never auto-created: an explicit partition count is what keeps per-key order
stable. A topic that already exists is left as it is (its partition count included), and is
not even asked for: on a cluster where topics are managed (Strimzi KafkaTopics, deploy/) a
service's principal has no Create permission, and the broker refuses a CreateTopics request
without it even for a topic that exists.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError, for_code

from orderflow.shared.settings import KafkaSettings
from orderflow.shared.topics import TopicSpec

_ACCEPTABLE = {0, TopicAlreadyExistsError.errno}


async def ensure_topics(
    settings: KafkaSettings, specs: Sequence[TopicSpec], wait_s: float = 30.0
) -> None:
    """Create every topic in `specs` (named through the settings' prefix) that is missing.

    Waits up to `wait_s` for the broker to become reachable: it is often started just before.
    """
    if not specs:
        return
    admin = await _connect(settings, wait_s)
    try:
        existing = set(await admin.list_topics())
        new = [
            NewTopic(settings.topic(s.name), s.partitions, settings.replication_factor)
            for s in specs
            if settings.topic(s.name) not in existing
        ]
        if not new:
            return
        response = await admin.create_topics(new)
    finally:
        await admin.close()
    failures = [(e[0], e[1]) for e in response.topic_errors if e[1] not in _ACCEPTABLE]
    if failures:
        topic, code = failures[0]
        raise for_code(code)(f"creating topic {topic} failed ({len(failures)} topics failed)")


async def _connect(settings: KafkaSettings, wait_s: float) -> AIOKafkaAdminClient:
    deadline = time.monotonic() + wait_s
    while True:
        admin = AIOKafkaAdminClient(**settings.client_options(), client_id="orderflow-admin")
        try:
            await admin.start()
            await admin.list_topics()
            return admin
        except (KafkaConnectionError, KafkaError, OSError):
            await admin.close()
            if time.monotonic() >= deadline:
                raise
        await asyncio.sleep(0.5)
