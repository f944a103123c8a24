"""Dead letters: a record that can never succeed, written to `<service>.dlq.v1` with its reason.

The dead letter goes through the outbox in the transaction that skips the record, so the
record is either processed, or dead-lettered, never neither.
"""

from __future__ import annotations

import base64
from datetime import datetime

import asyncpg
from aiokafka import ConsumerRecord

from orderflow.shared import outbox
from orderflow.shared.envelope import new_event, utcnow
from orderflow.shared.topics import dead_letter_topic


async def enqueue(
    conn: asyncpg.Connection,
    service: str,
    topic: str,
    record: ConsumerRecord[bytes, bytes],
    *,
    error_type: str,
    error: str,
    attempts: int,
    first_failed_at: datetime,
) -> None:
    key = record.key.decode(errors="replace") if record.key else ""
    tenant = key.split(":", 1)[0] if ":" in key else "unknown"
    position = f"{topic}:{record.partition}:{record.offset}"
    event = new_event(
        type="dead_letter",
        tenant=tenant,
        order_id=None,
        occurred_at=utcnow(),
        causation_id=position,
        correlation_id=position,
        data={
            "topic": topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": key,
            "value": base64.b64encode(record.value or b"").decode(),
            "error_type": error_type,
            "error": error,
            "attempts": attempts,
            "first_failed_at": first_failed_at.isoformat(),
        },
    )
    await outbox.enqueue(conn, dead_letter_topic(service), event, key=record.key)
