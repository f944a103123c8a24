"""The sales-report benchmark's data and load: orders, lines and payments seeded by COPY into
the status-tracker's read model and payments table, then timed report requests."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx

TENANT = "bench"
START = datetime(2025, 1, 1, tzinfo=UTC)
DAYS = 365
CURRENCIES = ("EUR", "EUR", "EUR", "USD", "GBP")
SYSTEMS = ("stripe", "paypal", "adyen", "bank-transfer")
CATEGORIES = ("shoes", "hats", "socks", "bags", "coats")
VIEW_COLUMNS = [
    "tenant", "order_id", "status", "category", "has_ok", "created_at", "updated_at", "amount",
    "currency", "offer_id", "offer_name", "items_count", "paid_amount", "refunded_amount",
    "sales_manager_id", "sales_manager_confirmed",
]  # fmt: skip
ITEM_COLUMNS = [
    "tenant",
    "order_id",
    "line",
    "sku",
    "quantity",
    "unit_price",
    "line_total",
    "category",
]
PAYMENT_COLUMNS = [
    "tenant", "order_id", "payment_id", "status", "occurred_at", "made_at", "succeeded_at",
    "amount", "currency", "fee", "funds_credited", "refunded", "payment_system",
]  # fmt: skip


def _order(n: int, rng: random.Random) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    created = START + timedelta(seconds=rng.randrange(DAYS * 86400))
    currency = rng.choice(CURRENCIES)
    lines = []
    for line in range(1, rng.choice((1, 1, 2, 3)) + 1):
        price = Decimal(rng.randrange(500, 20000)) / 100
        lines.append(
            (TENANT, f"o-{n}", line, f"sku-{line}", 1, price, price, rng.choice(CATEGORIES))
        )
    amount = sum((row[6] for row in lines), Decimal(0))
    has_ok = rng.random() < 0.7
    refunded = amount if has_ok and rng.random() < 0.05 else Decimal(0)
    manager = f"m-{rng.randrange(20)}" if rng.random() < 0.3 else None
    offer = rng.randrange(40)
    view = (
        TENANT, f"o-{n}", "Completed" if has_ok else "Open", "confirmed" if has_ok else "pending",
        has_ok, created, created, amount, currency, f"offer-{offer}", f"Offer {offer}",
        len(lines), amount - refunded if has_ok else Decimal(0), refunded, manager,
        None if manager is None else rng.random() < 0.8,
    )  # fmt: skip
    return view, lines


def _payment(n: int, orders: int, rng: random.Random) -> tuple[Any, ...]:
    made = START + timedelta(seconds=rng.randrange(DAYS * 86400))
    amount = Decimal(rng.randrange(500, 30000)) / 100
    succeeded = rng.random() < 0.85
    fee = (amount * Decimal("0.029")).quantize(Decimal("0.01"))
    refunded = amount if succeeded and rng.random() < 0.04 else Decimal(0)
    return (
        TENANT, f"o-{rng.randrange(orders)}", f"p-{n}", "succeeded" if succeeded else "failed",
        made, made, made if succeeded else None, amount, rng.choice(CURRENCIES), fee,
        amount - fee if succeeded else None, refunded, rng.choice(SYSTEMS),
    )  # fmt: skip


async def seed(conn: asyncpg.Connection, orders: int, payments: int, say: Any) -> float:
    """COPY the rows in chunks (bounded memory); ANALYZE; the seconds it took."""
    started, rng, chunk = time.perf_counter(), random.Random(11), 100_000
    for first in range(0, orders, chunk):
        made = [_order(n, rng) for n in range(first, min(first + chunk, orders))]
        await conn.copy_records_to_table(
            "order_views", records=[v for v, _ in made], columns=VIEW_COLUMNS
        )
        lines = [line for _, ls in made for line in ls]
        await conn.copy_records_to_table("order_items", records=lines, columns=ITEM_COLUMNS)
    say(f"  {orders:,} orders seeded in {time.perf_counter() - started:.0f} s")
    for first in range(0, payments, chunk):
        rows = [_payment(n, orders, rng) for n in range(first, min(first + chunk, payments))]
        await conn.copy_records_to_table("payments", records=rows, columns=PAYMENT_COLUMNS)
    await conn.execute("ANALYZE order_views, order_items, payments")
    return time.perf_counter() - started


def periods(rng: random.Random, count: int) -> list[dict[str, str]]:
    """A mix of what a manager asks: the whole year, a quarter, a month, a week, no bounds."""
    found: list[dict[str, str]] = []
    for n in range(count):
        days = (DAYS, 91, 30, 7, None)[n % 5]
        if days is None:
            found.append({})
            continue
        start = START + timedelta(days=rng.randrange(DAYS - days + 1))
        found.append({"from": start.isoformat(), "to": (start + timedelta(days=days)).isoformat()})
    return found


async def latencies(url: str, key: str, by: str, requests: int) -> list[float]:
    """One request at a time (a report is one manager's click), each timed to its last byte."""
    rng, found = random.Random(by), []
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        for params in periods(rng, requests):
            started = time.perf_counter()
            answer = await client.get(
                f"/v1/reports/{TENANT}/sales",
                params={"by": by, **params},
                headers={"Authorization": f"Bearer {key}"},
            )
            found.append(time.perf_counter() - started)
            answer.raise_for_status()
    return found
