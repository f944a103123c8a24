"""Customers and segments on the real broker and Postgres: order.confirmed in, segments.v1 out,
a time condition that leaves on its own, the HTTP reads, validations, tenant by key.

One running rewards service serves the whole scenario (the stack is shared per test).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from tests.harness import TopicReader, producer, running
from tests.segments_support import KEY, WRITE_ONLY_KEY, confirmed, write_segment_tenants

pytestmark = pytest.mark.integration
OTHER_KEY = "segb-key-0123456789abc"


def moves(events: list[Envelope]) -> set[tuple[str, str, str]]:
    return {(e.type.rsplit("_", 1)[1], e.data["customer_id"], e.data["segment_id"]) for e in events}


async def test_segments_end_to_end(stack_env: dict[str, str], tmp_path: Path) -> None:
    tenants = write_segment_tenants(tmp_path / "tenants", recent="3s")
    async with running("rewards", stack_env, tenants, timer_poll_interval_s=0.2) as service:
        await scenario(stack_env, service.settings.http_port)


async def scenario(stack_env: dict[str, str], port: int) -> None:
    now = datetime.now(UTC)
    events = [
        confirmed("seg", "o-1", "c-1", now, "300.00"),
        confirmed("seg", "o-2", "c-1", now - timedelta(days=3), "150.00"),
        confirmed("seg", "o-3", "c-1", now - timedelta(days=9), "100.00"),
        confirmed("seg", "o-4", "=HYPERLINK(1)", now - timedelta(days=30), "5.00", "USD"),
        confirmed("seg", "o-5", "shop/42", now - timedelta(days=30), "1.00"),
    ]
    async with producer(stack_env) as send:
        for event in [*events, events[0]]:  # one delivered twice
            await send(topics.ORDERS_LIFECYCLE, f"seg:{event.order_id}", event.to_bytes())
    async with TopicReader(stack_env, topics.SEGMENTS) as reader:
        # c-1 is `recent` for three seconds after its last order, then leaves on its own.
        found = await reader.read_until(lambda es: ("left", "c-1", "recent") in moves(es), 60)
        keys = {r[0] for r in reader.records}
    assert {("entered", "c-1", "recent"), ("left", "c-1", "recent")} <= moves(found)
    assert membership(found) == {
        "c-1": {"loyal", "big-spenders", "lapsed"}, "=HYPERLINK(1)": {"one-timer", "lapsed"},
        "shop/42": {"one-timer", "lapsed"},
    }  # fmt: skip
    assert keys == {b"seg:c-1", b"seg:=HYPERLINK(1)", b"seg:shop/42"}
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {KEY}"}) as http:
        await reads(http)
        await validations(http)
        await refusals(http, base)


def membership(events: list[Envelope]) -> dict[str, set[str]]:
    """The segments.v1 events replayed in order, per customer (each key's order is kept)."""
    found: dict[str, set[str]] = {}
    for e in events:
        segments = found.setdefault(e.data["customer_id"], set())
        (segments.add if e.type.endswith("entered") else segments.discard)(e.data["segment_id"])
    return found


async def reads(http: httpx.AsyncClient) -> None:
    one = (await http.get("/v1/customers/seg/c-1")).json()
    assert one["orders_count"] == 3 and one["spent"] == {"EUR": "550.00"}
    assert one["segments"] == ["big-spenders", "lapsed", "loyal"]
    assert (await http.get("/v1/customers/seg/c-9")).status_code == 404
    assert (await http.get("/v1/customers/seg/shop/42")).json()["segments"] == [
        "lapsed",
        "one-timer",
    ]
    sizes = (await http.get("/v1/segments/seg")).json()["segments"]
    assert sizes == [
        {"id": "loyal", "size": 1}, {"id": "big-spenders", "size": 1}, {"id": "recent", "size": 0},
        {"id": "lapsed", "size": 3}, {"id": "one-timer", "size": 2},
    ]  # fmt: skip
    paged, cursor = [], None
    while True:  # one customer a page, until the page that holds the last
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await http.get("/v1/segments/seg/lapsed/customers", params=params)).json()
        paged += [c["customer_id"] for c in page["customers"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert paged == ["=HYPERLINK(1)", "c-1", "shop/42"]
    exported = await http.get("/v1/segments/seg/lapsed/export.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == [
        "customer_id",
        "orders_count",
        "spent",
        "first_purchase_at",
        "last_purchase_at",
    ]
    assert [r[:3] for r in rows[1:]] == [
        ["'=HYPERLINK(1)", "1", "5.00 USD"],
        ["c-1", "3", "550.00 EUR"],
        ["shop/42", "1", "1.00 EUR"],
    ]


async def validate(http: httpx.AsyncClient, body: dict[str, Any], status: int = 200) -> Any:
    answer = await http.post("/v1/validations/seg", json=body)
    assert answer.status_code == status, answer.text
    return answer.json()


async def validations(http: httpx.AsyncClient) -> None:
    shoes = {"amount": "25.00", "currency": "EUR", "items": [{"sku": "s-1", "quantity": 1, "category": "shoes"}],
             "metadata": {"channel": "mobile_app"}}  # fmt: skip
    assert (await validate(http, {"customer_id": "c-1", "order": shoes}))["valid"] is True
    anonymous = await validate(http, {"order": {**shoes, "amount": "5.00", "metadata": {}}})
    assert anonymous["valid"] is False
    assert {r["id"]: [f["code"] for f in r["failures"]] for r in anonymous["rules"]} == {
        "min-basket": ["cart.min_amount"],
        "shoes-for-loyal": ["customer.segments_any"],
        "mobile-only": ["metadata.channel"],
    }
    dollars = await validate(http, {"order": {**shoes, "currency": "USD"}, "rules": ["min-basket"]})
    assert dollars["rules"] == [{"id": "min-basket", "valid": False, "failures": [
        {"code": "cart.currency", "message": "the cart must be in EUR, not USD"}]}]  # fmt: skip
    unknown = await validate(http, {"order": shoes, "rules": ["min-basket", "nope"]}, 422)
    assert unknown["errors"][0]["path"] == "rules[1]"
    bad = await validate(http, {"order": {**shoes, "items": [{"sku": "s", "quantity": 0}]}}, 422)
    assert bad["errors"][0]["path"] == "order.items[0].quantity"


async def refusals(http: httpx.AsyncClient, base: str) -> None:
    assert (await http.get("/v1/segments/seg/lapsed/customers", params={"limt": 5})).json()[
        "errors"
    ] == [{"path": "query.limt", "message": "unknown query parameter"}]
    assert (
        await http.get("/v1/segments/seg/lapsed/customers", params={"limit": 0})
    ).status_code == 422
    assert (
        await http.get("/v1/segments/seg/lapsed/customers", params={"cursor": "%%"})
    ).status_code == 422
    assert (await http.get("/v1/segments/seg/nope/customers")).status_code == 404
    paths = ["/v1/customers/{t}/c-1", "/v1/segments/{t}", "/v1/segments/{t}/loyal/customers",
             "/v1/segments/{t}/loyal/export.csv"]  # fmt: skip
    async with httpx.AsyncClient(base_url=base) as anonymous:
        for path in paths:
            for tenant, key, status in [("seg", KEY, 200), ("seg", OTHER_KEY, 403), ("segb", KEY, 403),
                                        ("seg", None, 401), ("segb", OTHER_KEY, 200)]:  # fmt: skip
                headers = {"Authorization": f"Bearer {key}"} if key else {}
                answer = await anonymous.get(path.format(t=tenant), headers=headers)
                expected = (
                    404 if status == 200 and tenant == "segb" and "customers/" in path else status
                )
                assert answer.status_code == expected, (path, tenant, key, answer.text)
        writer = {"Authorization": f"Bearer {WRITE_ONLY_KEY}"}
        for path in paths:
            answer = await anonymous.get(path.format(t="seg"), headers=writer)
            assert answer.status_code == 403 and "orders:read" in answer.text, (path, answer.text)
        answer = await anonymous.post(
            "/v1/validations/seg", json={}, headers={"Authorization": f"Bearer {OTHER_KEY}"}
        )
        assert answer.status_code == 403


async def test_a_reloaded_definition_is_rebuilt_without_a_restart(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    tenants = write_segment_tenants(tmp_path / "tenants")
    now = datetime.now(UTC)
    async with running("rewards", stack_env, tenants, tenants_reload_s=0.5):
        async with producer(stack_env) as send:
            for n in range(2):
                event = confirmed("seg", f"o-{n}", "c-1", now - timedelta(days=n))
                await send(topics.ORDERS_LIFECYCLE, f"seg:o-{n}", event.to_bytes())
        async with TopicReader(stack_env, topics.SEGMENTS) as reader:
            await reader.read_until(lambda es: ("entered", "c-1", "recent") in moves(es), 60)
            text = (tenants / "seg.yaml").read_text()
            (tenants / "seg.yaml").write_text(text.replace("{min_orders: 3}", "{min_orders: 2}"))
            found = await reader.read_until(lambda es: ("entered", "c-1", "loyal") in moves(es), 60)
    assert ("entered", "c-1", "loyal") in moves(found)
    rebuilt = [e for e in found if e.data["segment_id"] == "loyal"]
    assert [e.causation_id for e in rebuilt] == ["segment-rebuild:seg:loyal:2"]
