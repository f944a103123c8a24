"""The sales reports (CONTRACTS §9) against a brute-force computation over the same rows.

Hypothesis draws whole data sets (orders with lines, payments) and periods; each is written
to the real read model and payments tables, and every group of every report, and the totals,
must equal what plain Python computes from the rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, localcontext
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from orderflow.services.status_tracker import sales_report_store as sql
from orderflow.services.status_tracker.sales_report import By, money
from orderflow.shared.currencies import MINOR_UNITS, minor_units
from tests.batch_support import connect_service

pytestmark = pytest.mark.integration
T0 = datetime(2026, 1, 1, tzinfo=UTC)
DATA_SETS = 25
MONEY = st.decimals(min_value=0, max_value=500, places=2)
# Refund, line and amount choices that make half-even ties (x.xx5) happen often.
SHARES = st.sampled_from([Decimal(v) for v in ("0", "0.05", "1.00", "2.50", "9.99", "10.00")])


@st.composite
def data_set(draw: st.DrawFn) -> dict[str, Any]:
    orders = []
    for n in range(draw(st.integers(0, 10))):
        currency = draw(st.sampled_from(["EUR", "EUR", "JPY", "BHD", None]))
        lines = draw(
            st.lists(st.tuples(st.sampled_from(["shoes", "hats", None]), SHARES), max_size=3)
        )
        amount = (
            None
            if currency is None
            else draw(
                st.sampled_from(
                    [Decimal("0"), Decimal("3.00"), Decimal("10.00"), Decimal("100.00")]
                )
            )
        )
        units = Decimal(1).scaleb(-minor_units(currency or "EUR"))  # as ingest accepts them
        lines = [(c, t.quantize(units, ROUND_DOWN)) for c, t in lines]
        orders.append({
            "order_id": f"o-{n}", "created_at": T0 + timedelta(hours=draw(st.integers(0, 72))),
            "has_ok": draw(st.booleans()), "amount": amount, "currency": currency,
            "offer_id": draw(st.sampled_from(["offer-1", "offer-2", None])),
            "offer_name": draw(st.sampled_from(["Gold", "Silver", None])),
            "manager": draw(st.sampled_from([None, ("m-1", True), ("m-1", False), ("m-2", True)])),
            "refunded": draw(SHARES).quantize(units, ROUND_DOWN) if amount else Decimal(0),
            "lines": lines,
        })  # fmt: skip
    payments = []
    for n in range(draw(st.integers(0, 10))):
        succeeded = draw(st.booleans())
        amount, fee = (
            draw(MONEY),
            draw(st.none() | st.sampled_from([Decimal("0.30"), Decimal("1.00")])),
        )
        payments.append({
            "order_id": f"o-{n % 4}", "payment_id": f"p-{n}",
            "made_at": T0 + timedelta(hours=draw(st.integers(0, 72))),
            "system": draw(st.sampled_from(["stripe", "paypal"])),
            "currency": draw(st.sampled_from(["EUR", "USD"])), "amount": amount, "fee": fee,
            "succeeded": succeeded, "refunded": draw(st.sampled_from([Decimal(0), amount])) if succeeded else Decimal(0),
        })  # fmt: skip
    start = draw(st.none() | st.integers(0, 72).map(lambda h: T0 + timedelta(hours=h)))
    end = draw(st.none() | st.integers(0, 72).map(lambda h: T0 + timedelta(hours=h)))
    return {"orders": orders, "payments": payments, "start": start, "end": end}


def drawn() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    @settings(max_examples=DATA_SETS, phases=[Phase.generate], database=None, deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(data_set())
    def collect(example: dict[str, Any]) -> None:
        found.append(example)

    collect()
    return found


@pytest.fixture
async def conn(stack_env: dict[str, str]) -> AsyncIterator[asyncpg.Connection]:
    connection = await connect_service(stack_env, "status-tracker")
    try:
        yield connection
    finally:
        await connection.close()


async def write(conn: asyncpg.Connection, data: dict[str, Any]) -> None:
    """The rows, written the ways the services write them: a view first inserted with other
    values and then updated, lines added one statement at a time, some lines removed and
    added again in one statement each, payments upserted twice."""
    await conn.execute("DELETE FROM order_views WHERE tenant = 'rep'")
    await conn.execute("DELETE FROM order_items WHERE tenant = 'rep'")
    await conn.execute("DELETE FROM payments WHERE tenant = 'rep'")
    for o in data["orders"]:
        manager = o["manager"] or (None, None)
        await conn.execute(
            "INSERT INTO order_views (tenant, order_id, status, category, has_ok, created_at,"
            " amount, currency, offer_id, offer_name, sales_manager_id, sales_manager_confirmed,"
            " refunded_amount) VALUES ('rep', $1, 'S', 'pending', $2, $3, $4, $5, $6, $7, NULL, NULL, 0)",
            o["order_id"], not o["has_ok"], o["created_at"], o["amount"], o["currency"],
            o["offer_id"], o["offer_name"],
        )  # fmt: skip
        for line, (category, total) in enumerate(o["lines"], 1):
            await conn.execute(
                "INSERT INTO order_items (tenant, order_id, line, sku, quantity, unit_price,"
                " line_total, category) VALUES ('rep', $1, $2, 'sku', 1, $3, $3, $4)",
                o["order_id"], line, total, category,
            )  # fmt: skip
        await conn.execute(
            "UPDATE order_views SET has_ok = $2, sales_manager_id = $3, sales_manager_confirmed = $4,"
            " refunded_amount = $5 WHERE tenant = 'rep' AND order_id = $1",
            o["order_id"], o["has_ok"], *manager, o["refunded"],
        )  # fmt: skip
        if len(o["lines"]) > 1:
            await conn.execute(
                "WITH gone AS (DELETE FROM order_items WHERE tenant = 'rep' AND order_id = $1"
                " RETURNING *) INSERT INTO order_items SELECT * FROM gone",
                o["order_id"],
            )
    for p in data["payments"]:
        for final in (False, True):
            succeeded = p["succeeded"] and final
            await conn.execute(
                "INSERT INTO payments (tenant, order_id, payment_id, status, occurred_at, made_at,"
                " succeeded_at, amount, currency, fee, funds_credited, refunded, payment_system)"
                " VALUES ('rep', $1, $2, $3, $4, $4, $5, $6, $7, $8, $9, $10, $11)"
                " ON CONFLICT (tenant, order_id, payment_id) DO UPDATE SET status = EXCLUDED.status,"
                " succeeded_at = EXCLUDED.succeeded_at, funds_credited = EXCLUDED.funds_credited,"
                " refunded = EXCLUDED.refunded",
                p["order_id"], p["payment_id"], "succeeded" if succeeded else "pending",
                p["made_at"], p["made_at"] if succeeded else None, p["amount"], p["currency"],
                p["fee"], p["amount"] - (p["fee"] or 0) if succeeded else None,
                p["refunded"] if final else Decimal(0), p["system"],
            )  # fmt: skip


def within(at: datetime, data: dict[str, Any]) -> bool:
    return (data["start"] is None or at >= data["start"]) and (
        data["end"] is None or at <= data["end"]
    )


def share(refunded: Decimal, line: Any, amount: Decimal | None, currency: str | None) -> Decimal:
    """Half-even to minor units, exactly: the tie decided on an exact quotient."""
    if not amount or currency is None:
        return Decimal(0)
    with localcontext(prec=200):
        return (refunded * Decimal(line) / amount).quantize(
            Decimal(1).scaleb(-minor_units(currency))
        )


def latest_first(data: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(data["orders"], key=lambda o: (o["created_at"], o["order_id"]), reverse=True)


def order_rows(data: dict[str, Any], key: Any, lines: bool = False) -> list[dict[str, Any]]:
    groups: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(lambda: {
        "orders": set(), "completed": set(), "amount": Decimal(0), "refunded": Decimal(0), "names": []})  # fmt: skip
    for o in sorted(data["orders"], key=lambda o: (o["created_at"], o["order_id"]), reverse=True):
        if not within(o["created_at"], data):
            continue
        parts = [(c, t) for c, t in o["lines"]] if lines else [(None, None)]
        for category, total in parts:
            group_key = key(o, category)
            if group_key is None:
                continue
            g = groups[(*group_key, o["currency"])]
            g["orders"].add(o["order_id"])
            g["names"].append(o["offer_name"])
            if o["has_ok"]:
                g["completed"].add(o["order_id"])
                g["amount"] += total if lines else o["amount"] or 0
                g["refunded"] += (
                    share(o["refunded"], total, o["amount"], o["currency"])
                    if lines
                    else o["refunded"]
                )
    rows = []
    for (*k, currency), g in groups.items():
        row = {"key": tuple(k), "currency": currency, "orders": len(g["orders"]), "completed": len(g["completed"]),
               "amount": money(g["amount"], currency), "refunded": money(g["refunded"], currency),
               "net": money(g["amount"] - g["refunded"], currency)}  # fmt: skip
        named = [o["offer_name"] for o in latest_first(data) if o["offer_id"] == k[0]]
        row["offer_name"] = next((n for n in named if n), None) if k[0] is not None else None
        rows.append(row)
    return rows


def payment_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for p in data["payments"]:
        if within(p["made_at"], data):
            groups[(p["system"], p["currency"])].append(p)
    rows = []
    for (system, currency), ps in groups.items():
        ok = [p for p in ps if p["succeeded"]]
        rows.append({
            "key": (system,), "currency": currency, "payments": len(ps), "succeeded": len(ok),
            "amount": money(sum((p["amount"] for p in ok), Decimal(0)), currency),
            "fees": money(sum((p["fee"] or Decimal(0) for p in ok), Decimal(0)), currency),
            "funds_credited": money(sum((p["amount"] - (p["fee"] or 0) for p in ok), Decimal(0)), currency),
            "refunded": money(sum((p["refunded"] for p in ps), Decimal(0)), currency),
        })  # fmt: skip
    return rows


KEYS = {
    By.OFFER: (("offer_id",), lambda o, _: (o["offer_id"],)),
    By.OFFER_CATEGORY: (("category",), lambda _, c: (c,)),
    By.SALES_MANAGER: (("member_id",), lambda o, _: (o["manager"][0],) if o["manager"] and o["manager"][1] else None),
    By.PAYMENT_SYSTEM: (("payment_system",), None),
}  # fmt: skip


def normalised(by: By, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    names, _ = KEYS[by]
    out = []
    for r in rows:
        r = dict(r)
        key = r.pop("key", None) or tuple(r.pop(n) for n in names)
        if by is not By.OFFER:
            r.pop("offer_name", None)
        out.append((key, tuple(sorted((k, str(v)) for k, v in r.items()))))
    return sorted(out, key=repr)


async def test_every_group_equals_a_brute_force_over_the_same_rows(
    conn: asyncpg.Connection,
) -> None:
    checked = 0
    for data in drawn():
        await write(conn, data)
        for by, (_, key) in KEYS.items():
            found = await sql.rows(conn, "rep", by, data["start"], data["end"])
            expected = (
                payment_rows(data)
                if key is None
                else order_rows(data, key, by is By.OFFER_CATEGORY)
            )
            assert normalised(by, found) == normalised(by, expected), (by, data)
            checked += len(expected)
        totals = await sql.completed(conn, "rep", data["start"], data["end"])
        expected_totals: dict[str, tuple[int, Decimal]] = {}
        for o in data["orders"]:
            if o["has_ok"] and o["currency"] and within(o["created_at"], data):
                count, net = expected_totals.get(o["currency"], (0, Decimal(0)))
                expected_totals[o["currency"]] = (count + 1, net + o["amount"] - o["refunded"])
        assert {c: (n, v) for c, n, v in totals} == expected_totals
    assert checked > DATA_SETS, "the data sets produced groups to check"


async def test_the_sql_minor_units_agree_with_shared_currencies(conn: asyncpg.Connection) -> None:
    codes = sorted(MINOR_UNITS)
    found = await conn.fetch(
        "SELECT c, minor_units(c) AS units FROM unnest($1::text[]) AS c", codes
    )
    assert {r["c"]: r["units"] for r in found} == MINOR_UNITS


@pytest.mark.parametrize(
    ("refunded", "line", "amount", "currency", "share"),
    [("1.00", "1.25", "10.00", "EUR", "0.12"), ("1.00", "1.35", "10.00", "EUR", "0.14"),
     ("1", "5", "10", "JPY", "0"), ("3", "5", "10", "JPY", "2"), ("10.00", "1.00", "3.00", "EUR", "3.33")],
)  # fmt: skip
async def test_a_lines_refund_share_is_rounded_half_even_once(
    conn: asyncpg.Connection, refunded: str, line: str, amount: str, currency: str, share: str
) -> None:
    found = await conn.fetchval(
        "SELECT refund_share($1::numeric, $2::numeric, $3::numeric, $4)",
        Decimal(refunded), Decimal(line), Decimal(amount), currency,
    )  # fmt: skip
    assert Decimal(found) == Decimal(share)
