"""Dead letters: a record that can never succeed, written to `<service>.dlq.v1` with its reason.

The dead letter goes through the outbox in the transaction that skips the record, so the
record is either processed, or dead-lettered, never neither.

- It always fits one Kafka record: a raw value over `INLINE_MAX_BYTES` is stored whole in the
  service's `dead_letter_values` table and the dead letter carries its SHA-256 as `value_ref`,
  its size and a base64 prefix instead of the value.
- Its identity is the record, not only its position: the event id derives from topic,
  partition, offset, the record's timestamp and the SHA-256 of key and value. A redelivery of
  the same record is the same dead letter; a new record at an offset seen before (a broker
  that restarted empty, a topic recreated after loss) is a new one.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime

import asyncpg
from aiokafka import ConsumerRecord

from orderflow.shared import outbox
from orderflow.shared.envelope import new_event, utcnow
from orderflow.shared.topics import dead_letter_topic

# base64 grows 4/3: 600 KiB of value stays well inside a 1 MiB record with the envelope.
INLINE_MAX_BYTES = 600 * 1024
PREFIX_BYTES = 1024


def identity(topic: str, record: ConsumerRecord[bytes, bytes]) -> str:
    digest = hashlib.sha256()
    for part in (record.key or b"", b"\x00", record.value or b""):
        digest.update(part)
    position = f"{topic}:{record.partition}:{record.offset}"
    return f"{position}@{record.timestamp}:{digest.hexdigest()[:32]}"


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
        causation_id=identity(topic, record),
        correlation_id=position,
        data={
            "topic": topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": key,
            **await _value(conn, record.value or b""),
            "error_type": error_type,
            "error": error,
            "attempts": attempts,
            "first_failed_at": first_failed_at.isoformat(),
        },
    )
    await outbox.enqueue(conn, dead_letter_topic(service), event, key=record.key)
    await conn.execute(
        'INSERT INTO dead_letters (event_id, topic, partition, "offset", key, value, tenant,'
        " error_type, error, attempts, first_failed_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
        event.event_id,
        topic,
        record.partition,
        record.offset,
        record.key,
        record.value or b"",
        tenant,
        error_type,
        error,
        attempts,
        first_failed_at,
    )


async def _value(conn: asyncpg.Connection, value: bytes) -> dict[str, object]:
    if len(value) <= INLINE_MAX_BYTES:
        return {"value": base64.b64encode(value).decode()}
    sha256 = hashlib.sha256(value).hexdigest()
    await conn.execute(
        "INSERT INTO dead_letter_values (sha256, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        sha256,
        value,
    )
    return {
        "value_ref": f"dead_letter_values/{sha256}",
        "value_sha256": sha256,
        "value_size": len(value),
        "value_prefix": base64.b64encode(value[:PREFIX_BYTES]).decode(),
    }
