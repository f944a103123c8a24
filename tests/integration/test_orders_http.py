"""The orders reads (CONTRACTS §7) over real HTTP from a running status-tracker, on one
seeded database for the module: every filter, every sort paged to the end, My orders, the
KPIs, and who may read what. The seed goes through the tracker's own handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.infra import Infra
from tests.orders_seed import CREDITS, EXPECTED, SEED, Expected
from tests.orders_support import Stack, credits_handled, handled, orders_stack

pytestmark = pytest.mark.integration
BY_ID = {e.order_id: e for e in EXPECTED}


@pytest.fixture(scope="module")
async def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with orders_stack(infra, tmp_path_factory.mktemp("tenants")) as started:
        await handled(started.conn, SEED)
        await credits_handled(started.conn, CREDITS)
        yield started


async def ids(stack: Stack, path: str = "/v1/orders/shop", **params: Any) -> list[str]:
    response = await stack.get(path, **params)
    assert response.status_code == 200, response.text
    return [o["order_id"] for o in response.json()["orders"]]


def newest_first(found: list[Expected]) -> list[str]:
    return [
        e.order_id for e in sorted(found, key=lambda e: (e.created_at, e.order_id), reverse=True)
    ]


FILTERS: list[tuple[dict[str, Any], Callable[[Expected], bool]]] = [
    ({"status": "OK"}, lambda e: e.status == "OK"),
    ({"status": ["Pending", "Cancelled"]}, lambda e: e.status in ("Pending", "Cancelled")),
    ({"status": "ok"}, lambda e: False),  # exact: the external status as received
    ({"category": "confirmed"}, lambda e: e.category == "confirmed"),
    ({"category": ["refunded", "chargeback"]}, lambda e: e.category in ("refunded", "chargeback")),
    ({"has_ok": "true"}, lambda e: e.has_ok),
    ({"has_ok": "false"}, lambda e: not e.has_ok),
    ({"created_from": "2026-01-01T13:00:00Z"}, lambda e: e.created >= 4),
    ({"created_to": "2026-01-01T15:00:00+01:00"}, lambda e: e.created <= 5),
    ({"created_from": "2026-01-01T11:00:00Z", "created_to": "2026-01-01T14:00:00Z"},
     lambda e: 2 <= e.created <= 5),
    ({"customer_id": "c-1"}, lambda e: e.customer_id == "c-1"),
    ({"customer_id": ["c-1", "c-3"]}, lambda e: e.customer_id in ("c-1", "c-3")),
    ({"offer_id": "off-1"}, lambda e: e.offer_id == "off-1"),
    ({"item_category": "kitchen"}, lambda e: "kitchen" in e.item_categories),
    ({"item_category": ["garden", "food"]}, lambda e: bool({"garden", "food"} & e.item_categories)),
    ({"payment_system": "stripe"}, lambda e: e.payment_system == "stripe"),
    ({"currency": ["USD", "GBP"]}, lambda e: e.currency in ("USD", "GBP")),
    ({"sales_manager": "mgr-1"}, lambda e: e.sales_manager == "mgr-1"),
    ({"sales_manager": ["mgr-1", "mgr-2"]}, lambda e: e.sales_manager is not None),
    ({"member_id": "aff-1"}, lambda e: "aff-1" in e.members),
    ({"member_id": "aff-2"}, lambda e: "aff-2" in e.members),  # o-06's credit was voided
    ({"min_amount": "40"}, lambda e: e.amount_value is not None and e.amount_value >= 40),
    ({"max_amount": "10.00"}, lambda e: e.amount_value is not None and e.amount_value <= 10),
    ({"recurring_order_id": "sub-1"}, lambda e: e.recurring_order_id == "sub-1"),
    ({"payment_plan": "partial"}, lambda e: e.payment_plan == "partial"),
    ({"currency": "EUR", "has_ok": "false", "offer_id": "off-1"},
     lambda e: e.currency == "EUR" and not e.has_ok and e.offer_id == "off-1"),
]  # fmt: skip


@pytest.mark.parametrize(("params", "keep"), FILTERS, ids=[str(p) for p, _ in FILTERS])
async def test_each_filter_keeps_exactly_the_matching_orders_newest_first(
    stack: Stack, params: dict[str, Any], keep: Callable[[Expected], bool]
) -> None:
    assert await ids(stack, **params) == newest_first([e for e in EXPECTED if keep(e)])


def _sorted(sort: str) -> list[str]:
    key, descending = sort.lstrip("-"), sort.startswith("-")
    if key == "amount":  # no amount: last ascending, first descending
        have = sorted(
            (e for e in EXPECTED if e.amount is not None),
            key=lambda e: (e.amount_value, e.order_id),
        )
        none = sorted((e for e in EXPECTED if e.amount is None), key=lambda e: e.order_id)
        ordered = have + none
    else:
        attribute = {
            "created_at": "created_at",
            "updated_at": "updated_at",
            "order_id": "order_id",
        }[key]
        ordered = sorted(EXPECTED, key=lambda e: (getattr(e, attribute), e.order_id))
    return [e.order_id for e in (reversed(ordered) if descending else ordered)]


SORTS = [f"{d}{k}" for k in ("created_at", "updated_at", "amount", "order_id") for d in ("", "-")]


@pytest.mark.parametrize("sort", SORTS)
async def test_every_sort_pages_to_the_end_without_gaps_or_repeats(stack: Stack, sort: str) -> None:
    seen, cursor, pages = [], None, 0
    while True:
        params: dict[str, Any] = {"sort": sort, "limit": 3} | ({"cursor": cursor} if cursor else {})
        body = (await stack.get("/v1/orders/shop", **params)).json()
        seen += [o["order_id"] for o in body["orders"]]
        pages, cursor = pages + 1, body["next_cursor"]
        if cursor is None:
            break
    assert seen == _sorted(sort)
    assert pages == 3, "8 orders by 3: the page holding the last one says next_cursor null"


async def test_summary_fields(stack: Stack) -> None:
    response = await stack.get("/v1/orders/shop", customer_id="c-2")
    first, second = response.json()["orders"]
    assert first == {
        "order_id": "o-05", "status": "Refunded", "category": "refunded", "has_ok": True,
        "created_at": "2026-01-01T15:00:00+00:00", "updated_at": "2026-01-01T16:00:00+00:00",
        "amount": "40.00", "currency": "EUR", "customer_id": "c-2", "offer_id": "off-3",
        "offer_name": None, "payment_system": None, "items_count": 0,
        "sales_manager": {"member_id": "mgr-2", "confirmed": False}, "paid_amount": "0.00",
        "payment_plan": "full",
    }  # fmt: skip
    assert second["sales_manager"] == {"member_id": "mgr-1", "confirmed": True}


async def test_my_orders_are_the_members_credited_has_ok_orders_only(stack: Stack) -> None:
    assert await ids(stack, "/v1/members/shop/aff-2/orders") == ["o-08"]  # o-07 is Never OK
    assert await ids(stack, "/v1/members/shop/aff-1/orders") == ["o-05", "o-03"]
    assert await ids(stack, "/v1/members/shop/nobody/orders") == []
    first = (await stack.get("/v1/members/shop/aff-1/orders", limit=1)).json()
    rest = (
        await stack.get("/v1/members/shop/aff-1/orders", limit=1, cursor=first["next_cursor"])
    ).json()
    assert [o["order_id"] for o in rest["orders"]] == ["o-03"] and rest["next_cursor"] is None


async def test_kpis_count_every_order_by_current_category_and_status_per_currency(
    stack: Stack,
) -> None:
    body = (await stack.get("/v1/kpis/shop", interval="day")).json()
    assert body["orders"] == 8
    assert body["amount"] == {"EUR": "310.00", "GBP": "5.50", "JPY": "1000", "USD": "99.99"}
    assert body["by_category"]["confirmed"] == {
        "orders": 3,
        "amount": {"EUR": "250.00", "JPY": "1000", "USD": "99.99"},
    }
    assert body["by_status"]["Cancelled"] == {"orders": 1, "amount": {}}
    assert body["series"] == [
        {"period_start": "2026-01-01T00:00:00+00:00", "orders": 8, "amount": body["amount"]}
    ]
    ranged = (
        await stack.get(
            "/v1/kpis/shop", **{"from": "2026-01-01T14:00:00Z", "to": "2026-01-01T17:00:00Z"}
        )
    ).json()
    assert ranged["orders"] == 3 and ranged["by_category"].keys() == {
        "cancelled",
        "refunded",
        "chargeback",
    }


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/v1/orders/shop", {"limt": "5"}, ["query.limt"]),
        ("/v1/orders/shop", {"limit": "0"}, ["query.limit"]),
        ("/v1/orders/shop", {"limit": "201"}, ["query.limit"]),
        ("/v1/orders/shop", {"sort": "price"}, ["query.sort"]),
        ("/v1/orders/shop", {"category": "paid"}, ["query.category[0]"]),
        ("/v1/orders/shop", {"created_from": "yesterday"}, ["query.created_from"]),
        ("/v1/orders/shop", {"created_to": "2026-01-01T10:00:00"}, ["query.created_to"]),
        ("/v1/orders/shop", {"min_amount": "-1"}, ["query.min_amount"]),
        ("/v1/orders/shop", {"cursor": "not-a-cursor"}, ["query.cursor"]),
        ("/v1/orders/shop", {"created_from": ["2026-01-01T10:00:00Z"] * 2}, ["query.created_from"]),
        ("/v1/orders/shop/o-01", {"x": "1"}, ["query.x"]),
        ("/v1/members/shop/m/orders", {"sort": "amount"}, ["query.sort"]),
        ("/v1/kpis/shop", {"interval": "year"}, ["query.interval"]),
        ("/v1/orders/shop/export.csv", {"columns": "order_id,secret"}, ["query.columns"]),
    ],
)
async def test_bad_query_is_422_naming_the_parameter(
    stack: Stack, path: str, params: dict[str, Any], named: list[str]
) -> None:
    response = await stack.get(path, **params)
    assert response.status_code == 422, response.text
    assert [e["path"] for e in response.json()["errors"]] == named


async def test_a_cursor_of_another_sort_is_refused(stack: Stack) -> None:
    first = (await stack.get("/v1/orders/shop", limit=2)).json()
    response = await stack.get(
        "/v1/orders/shop", limit=2, sort="amount", cursor=first["next_cursor"]
    )
    assert response.status_code == 422


READS = ["/v1/orders/{t}", "/v1/orders/{t}/o-01", "/v1/orders/{t}/o-01/timeline",
         "/v1/orders/{t}/export.csv", "/v1/members/{t}/aff-1/orders", "/v1/kpis/{t}"]  # fmt: skip


@pytest.mark.parametrize("path", READS)
async def test_who_may_read_tenant_by_key_by_path(stack: Stack, path: str) -> None:
    shop, store = path.format(t="shop"), path.format(t="store")
    assert (await stack.client.get(shop)).status_code == 401
    assert (
        await stack.client.get(shop, headers={"Authorization": "Bearer nope-0123456789abcdef"})
    ).status_code == 401
    foreign = await stack.get(shop, key="store")
    assert foreign.status_code == 403 and "belongs to tenant 'store'" in foreign.text
    assert (await stack.get(store, key="all")).status_code == 403
    unscoped = await stack.get(shop, key="touch")
    assert unscoped.status_code == 403 and "orders:read" in unscoped.text
    assert (await stack.get(shop, key="read")).status_code == 200
    own_empty = await stack.get(store, key="store")
    assert own_empty.status_code in (200, 404), "another tenant sees none of shop's orders"
    if path.endswith(".csv"):
        assert own_empty.text.count("\r\n") == 1, "the header row only"
    elif own_empty.status_code == 200 and "orders" in own_empty.json():
        assert own_empty.json()["orders"] in ([], 0)


async def test_a_list_page_answers_in_the_index_order_of_a_filter(stack: Stack) -> None:
    """The planner's choice on the seeded table: each list filter uses an index (no sort
    of the whole tenant), checked with EXPLAIN on the statement the route runs."""
    from orderflow.services.status_tracker import orders_query
    from orderflow.services.status_tracker.order_filters import Filters, Page

    await stack.conn.execute("SET enable_seqscan = off")
    for name, value in (("customer_id", "c-1"), ("status", "OK"), ("sales_manager", "mgr-1")):
        text, args = orders_query.page_sql("shop", Filters(any_of={name: (value,)}), Page())
        plan = "\n".join(r[0] for r in await stack.conn.fetch(f"EXPLAIN {text}", *args))
        assert "Index" in plan and "Sort" not in plan, plan
    await stack.conn.execute("RESET enable_seqscan")
