"""The consumer prologue shared by every set-based handler: parse, bind log context.

A record that is not an envelope raises `Rejected`; the runner then replays the batch one
record at a time, so only that record is dead-lettered.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from aiokafka import ConsumerRecord

from orderflow.shared.envelope import Envelope, parse_envelope


def envelopes(records: Sequence[ConsumerRecord[bytes, bytes]]) -> list[Envelope]:
    """Each record's envelope, in offset order; a lone record's ids go into the log context."""
    parsed = [parse_envelope(r.value) for r in records]
    if len(parsed) == 1:
        event = parsed[0]
        structlog.contextvars.bind_contextvars(
            tenant=event.tenant, order_id=event.order_id, event_id=event.event_id
        )
    return parsed


def first_seen(events: Sequence[Envelope], claimed: set[str]) -> list[Envelope]:
    """The claimed events, each once (a batch may hold a redelivery of its own record)."""
    seen: set[str] = set()
    fresh = []
    for event in events:
        if event.event_id in claimed and event.event_id not in seen:
            seen.add(event.event_id)
            fresh.append(event)
    return fresh
