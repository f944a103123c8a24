"""Refunds on rewards' batch handlers, on a real connection without a broker: what the books
keep between batches (an order's refunds, each line's share taken back and the refunds it
applied) gives the ledger the pure domain gives, whichever batch each fact comes in."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import asyncpg

from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from tests.integration.test_rewards_batches import (
    ATTRIBUTION_TYPES,
    ON_ATTRIBUTION,
    ON_LIFECYCLE,
    PROGRAMMES,
    T0,
    conn,
    order_records,
    run,
)
from tests.refund_support import refunded
from tests.rewards_support import attributed, lifecycle_story
from tests.unit.rewards_world import World

__all__ = ["conn"]  # the fixture, shared with test_rewards_batches
HOUR = timedelta(hours=1)


def story(order_id: str) -> list[Envelope]:
    """Refunds known before the credit, the credit, then the rest refunded."""
    sale = lifecycle_story("aff", order_id, ["Sale"], T0, amount="250.00")
    return [
        *sale,
        refunded("aff", order_id, T0 + HOUR, "25.00", "25.00", "250.00"),
        refunded("aff", order_id, T0 + 2 * HOUR, "30.00", "55.00", "250.00"),
        attributed("aff", order_id, "m-1", T0),
        refunded("aff", order_id, T0 + 3 * HOUR, "195.00", "250.00", "250.00", full=True),
    ]


async def one_by_one(conn: asyncpg.Connection, events: list[Envelope]) -> None:
    for event in events:
        attribution = event.type in ATTRIBUTION_TYPES
        topic = topics.ORDERS_ATTRIBUTION if attribution else topics.ORDERS_LIFECYCLE
        await run(
            conn, ON_ATTRIBUTION if attribution else ON_LIFECYCLE, order_records(topic, [event])
        )


async def test_refunds_kept_between_batches_reverse_as_the_pure_domain_does(
    conn: asyncpg.Connection,
) -> None:
    events = story("o-refunds")
    await one_by_one(conn, events)
    await one_by_one(conn, events)  # redelivered: nothing more
    rows = await conn.fetch(
        "SELECT entry_id, member_id, kind, amount, reason FROM ledger WHERE order_id = $1"
        " ORDER BY seq",
        "o-refunds",
    )
    expected = World(PROGRAMMES["aff"]).deliver_all(events).entries()
    assert [(r["entry_id"], r["kind"], r["amount"]) for r in rows] == [
        (e.entry_id, e.kind.value, e.amount) for e in expected
    ]
    # 10 % + 0.50 of 250.00 = 25.50; 25.50 * 25/250 = 2.55; * 30/250 = 3.06; the rest 19.89.
    assert [(r["amount"], r["reason"]) for r in rows] == [
        (Decimal("25.50"), "order_confirmed"),
        (Decimal("-2.55"), "order_partially_refunded"),
        (Decimal("-3.06"), "order_partially_refunded"),
        (Decimal("-19.89"), "order_refunded"),
    ]
    line = await conn.fetchrow(
        "SELECT reversed, reversed_amount, approve_due_at FROM lines WHERE order_id = $1",
        "o-refunds",
    )
    assert line is not None
    assert (line["reversed"], line["reversed_amount"], line["approve_due_at"]) == (
        True,
        Decimal("25.50"),
        None,
    ), "wholly reversed: the approval timer is cancelled"
