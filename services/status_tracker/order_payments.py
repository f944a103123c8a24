"""Where the order reads get an order's payments (CONTRACTS §8) from: a hook for the
payments code, so the orders reads never need to know its tables.

`app.py` passes the payments code's implementation to the orders API; until then an order
has no payments (an empty list in the detail, no `payment` entries in the timeline).
"""

from __future__ import annotations

from typing import Any, Protocol

import asyncpg


class Payments(Protocol):
    async def of_order(
        self, conn: asyncpg.Connection, tenant: str, order_id: str
    ) -> list[dict[str, Any]]:
        """The detail's `payments`: JSON-ready objects, oldest first."""
        ...

    async def timeline(
        self, conn: asyncpg.Connection, tenant: str, order_id: str
    ) -> list[dict[str, Any]]:
        """`payment` timeline entries: `{at, received_at (datetimes), kind: "payment",
        payment_id, status, amount, currency}`, one per payment report."""
        ...


class NoPayments:
    async def of_order(
        self, conn: asyncpg.Connection, tenant: str, order_id: str
    ) -> list[dict[str, Any]]:
        return []

    async def timeline(
        self, conn: asyncpg.Connection, tenant: str, order_id: str
    ) -> list[dict[str, Any]]:
        return []


NO_PAYMENTS = NoPayments()
