"""Recurring orders in the tracker's transactions: register, settle facts, fire due timers.

Each function runs inside the caller's transaction and costs a fixed number of statements
whatever the batch: lock the rows, fold `decide` over the facts in order, save the states
and charges, enqueue the events. Nothing is published here (the relay does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from orderflow.services.status_tracker import recurring_store as store
from orderflow.services.status_tracker.recurring import Decision, decide
from orderflow.services.status_tracker.recurring_messages import Outgoing, outgoing
from orderflow.services.status_tracker.recurring_state import ChargeDue, Fact, Policy
from orderflow.services.status_tracker.recurring_store import Key
from orderflow.shared import outbox
from orderflow.shared.logging import get_logger

log = get_logger(__name__)
DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class Happened:
    """A fact about one recurring order, what caused it, and when it is reported as done."""

    key: Key
    fact: Fact
    cause: str  # the event id or request id the status change is caused by
    at: datetime  # the status change's occurred_at
    by: str | None = None


async def settle(
    conn: asyncpg.Connection, happened: Sequence[Happened], policies: Mapping[str, Policy]
) -> list[tuple[Happened, Decision]]:
    """Apply every fact in order to the recurring orders that exist; each with its decision."""
    orders = await store.lock_many(conn, [h.key for h in happened])
    decided: list[tuple[Happened, Decision]] = []
    out: list[Outgoing] = []
    for h in happened:
        if h.key not in orders:
            continue
        decision = decide(orders[h.key], h.fact, policies.get(h.key[0], DEFAULT_POLICY))
        orders[h.key] = decision.order
        decided.append((h, decision))
        out += outgoing(decision, h.cause, h.at, h.by)
        if decision.refused is not None:
            log.info("recurring_fact_refused", tenant=h.key[0], recurring_order_id=h.key[1],
                     fact=type(h.fact).__name__, reason=decision.refused)  # fmt: skip
    await store.save_many(conn, [d for _, d in decided])
    await outbox.enqueue_many(conn, out)
    return decided


async def fire_due(
    conn: asyncpg.Connection, now: datetime, limit: int, policies: Mapping[str, Policy]
) -> int:
    """Publish the charges due at `now` (up to `limit`) of rows no other transaction holds."""
    due = await store.claim_due(conn, now, limit)
    decisions = [decide(o, ChargeDue(o.due_at), policies.get(o.tenant, DEFAULT_POLICY))
                 for o in due if o.due_at is not None]  # fmt: skip
    out = [e for d in decisions if d.requested for e in outgoing(d, "", d.requested.due_at)]
    await store.save_many(conn, decisions)
    await outbox.enqueue_many(conn, out)
    return sum(d.requested is not None for d in decisions)
