"""The thin, set-based handler of `orders.attribution.v1`: the read model's credits.

Claim, lock the orders (the report handler takes the same locks), load their credits,
apply the facts in offset order (pure), save: a fixed number of statements per batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from aiokafka import ConsumerRecord

from orderflow.services.status_tracker import credits_store, order_credits, store
from orderflow.services.status_tracker.attribution_messages import credit_fact
from orderflow.services.status_tracker.messages import order_key
from orderflow.shared import consumer, inbox
from orderflow.shared.envelope import utcnow

CONSUMER = "status-tracker:credits"


async def on_attribution(
    conn: asyncpg.Connection, records: Sequence[ConsumerRecord[bytes, bytes]]
) -> None:
    events = consumer.envelopes(records)
    facts = {e.event_id: credit_fact(e) for e in events}  # a malformed record fails first
    claimed = await inbox.claim_many(conn, CONSUMER, list(facts))
    fresh = [(order_key(e), facts[e.event_id]) for e in consumer.first_seen(events, claimed)]
    if not fresh:
        return
    keys = {key for key, _ in fresh}
    await store.lock_orders(conn, keys)
    credits = await credits_store.load_many(conn, keys)
    for key, fact in fresh:
        credits[key] = order_credits.apply(credits[key], fact)
    attributed = [(key, fact) for key, fact in fresh if fact.kind == "attributed"]
    await credits_store.save_many(conn, credits, attributed, utcnow())
    managers = {key: order_credits.sales_manager(cs) for key, cs in credits.items()}
    await credits_store.set_sales_managers(conn, managers)
