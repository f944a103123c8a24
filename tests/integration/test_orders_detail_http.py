"""One order over real HTTP (CONTRACTS §7): its detail, its timeline in upstream order
whatever order the reports arrived in, its notes (and their event), and the CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from orderflow.services.status_tracker import csv_export
from orderflow.shared.envelope import Envelope
from tests.infra import Infra
from tests.orders_support import (
    T0,
    Stack,
    credited,
    credits_handled,
    handled,
    orders_stack,
    reported,
)

pytestmark = pytest.mark.integration
ADDRESS = {"name": "Ada Lovelace", "line1": "1 Rue de la Paix", "city": "Paris", "country": "FR"}
ITEMS = [
    {"sku": "MUG", "name": "Blue mug", "quantity": 3, "unit_price": "19.95", "category": "kitchen",
     "offer_id": "off-1", "offer_name": "Mugs"},
    {"sku": "TEA", "quantity": 1, "unit_price": "0.15"},
]  # fmt: skip
FIRST = reported(
    "d-1", "Pending", "pending", 1, amount="60.00", currency="EUR", offer_id="off-1",
    customer={"id": "c-1", "name": "Ada Lovelace", "email": "ada@example.test"}, items=ITEMS,
    discounts=[{"code": "SPRING", "kind": "coupon", "amount": "5.00"}], metadata={"channel": "web"},
    offer_name="Spring", shipping={"method": "standard", "address": ADDRESS},
)  # fmt: skip
# Arrival order: the latest first, the earliest last; two reports share an instant (h=4).
REPORTS = [
    reported("d-1", "Sent", "fulfilled", 5, received_at=T0 + timedelta(hours=6),
             shipping={"carrier": "DHL", "tracking_number": "1Z9", "shipped_at": "2026-01-01T14:00:00+00:00"}),
    reported("d-1", "Delivered", "fulfilled", 4, received_at=T0 + timedelta(hours=9)),
    reported("d-1", "Awaiting cheque", "pending", 4, received_at=T0 + timedelta(hours=8)),
    reported("d-1", "OK", "confirmed", 3, received_at=T0 + timedelta(hours=7)),
    FIRST,
]  # fmt: skip
CREDIT = credited("d-1", "aff-1", "affiliation", 2)
NASTY = '=HYPERLINK("http://evil.test")'


@pytest.fixture(scope="module")
async def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with orders_stack(infra, tmp_path_factory.mktemp("tenants")) as started:
        for report in REPORTS:  # one batch each: every arrival is its own decision
            await handled(started.conn, [report])
        await credits_handled(started.conn, [CREDIT])
        await handled(started.conn, [
            reported("x-1", "-1 Pending", "pending", 1, amount="1.00", currency="EUR",
                     customer={"id": "+cust"}, offer_name=NASTY, items=ITEMS),
            reported("x-2", "OK", "confirmed", 2, offer_name='Mugs, "big"\r\nand small',
                     customer={"id": "@home"}, payment={"system": "\tstripe"}),
        ])  # fmt: skip
        yield started


async def note(stack: Stack, order_id: str, body: object, key: str = "all") -> httpx.Response:
    return await stack.client.post(
        f"/v1/orders/shop/{order_id}/notes", json=body, headers=stack.auth(key)
    )


async def test_detail_holds_lines_discounts_customer_shipping_credits_and_notes(
    stack: Stack,
) -> None:
    added = await note(stack, "d-1", {"text": "Called the customer", "author": "mgr-3"})
    assert added.status_code == 201

    detail = (await stack.get("/v1/orders/shop/d-1")).json()

    assert (detail["status"], detail["category"], detail["has_ok"]) == ("Sent", "fulfilled", True)
    assert detail["items"] == [
        {**ITEMS[0], "line_total": "59.85"},
        {
            **ITEMS[1],
            "name": None,
            "category": None,
            "offer_id": None,
            "offer_name": None,
            "line_total": "0.15",
        },
    ]
    assert detail["discounts"] == [{"code": "SPRING", "kind": "coupon", "amount": "5.00"}]
    assert detail["metadata"] == {"channel": "web"}
    assert detail["customer"] == {"id": "c-1", "name": "Ada Lovelace"}, "never the e-mail"
    assert detail["shipping"] == {
        "method": "standard", "address": ADDRESS, "carrier": "DHL", "tracking_number": "1Z9",
        "shipped_at": "2026-01-01T14:00:00+00:00",
    }  # fmt: skip
    assert detail["offer_name"] == "Spring" and detail["items_count"] == 2
    assert detail["payments"] == [] and detail["expiry_due_at"] is None
    assert detail["credits"] == [
        {"member_id": "aff-1", "via": "affiliation", "model": "explicit", "confirmed": False}
    ]
    [stored] = detail["notes"]
    assert stored == added.json()
    assert (await stack.get("/v1/orders/shop/unknown")).status_code == 404


async def test_timeline_is_in_upstream_order_whatever_the_arrival(stack: Stack) -> None:
    events = (await stack.get("/v1/orders/shop/d-1/timeline")).json()["events"]
    shown = [
        (e["kind"], e.get("status") or e.get("member_id") or "")
        for e in events
        if e["kind"] != "note"
    ]
    assert shown == [
        ("status", "Pending"),
        ("shipping", ""),
        ("attributed", "aff-1"),
        ("status", "OK"),
        ("confirmed", ""),
        ("status", "Awaiting cheque"),  # same instant as Delivered, received earlier
        ("status", "Delivered"),
        ("status", "Sent"),
        ("shipping", ""),  # shipped_at is the Sent report's instant: the report first
    ]
    assert [e["current"] for e in events if e["kind"] == "status"] == [
        False,
        False,
        False,
        False,
        True,
    ]
    categories = [e["category"] for e in events if e["kind"] == "status"]
    assert categories == ["pending", "confirmed", "pending", "fulfilled", "fulfilled"]
    assert all("address" not in e for e in events), "the address is in the detail only"
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert (await stack.get("/v1/orders/shop/unknown/timeline")).status_code == 404


async def test_a_note_is_stored_and_published_without_its_text(stack: Stack) -> None:
    response = await note(stack, "d-1", {"text": "secret remark", "author": "mgr-9"})
    assert response.status_code == 201
    note_id = response.json()["note_id"]
    rows = await stack.conn.fetch("SELECT value FROM outbox WHERE topic = 'orders.lifecycle.v1'")
    published = [Envelope.from_bytes(r["value"]) for r in rows]
    [event] = [
        e for e in published if e.type == "order.note_added" and e.data["note_id"] == note_id
    ]
    assert event.data == {"note_id": note_id, "author": "mgr-9"} and event.order_id == "d-1"
    assert b"secret remark" not in b"".join(r["value"] for r in rows)
    timeline = (await stack.get("/v1/orders/shop/d-1/timeline")).json()["events"]
    assert {"note_id": note_id, "author": "mgr-9", "text": "secret remark"}.items() <= timeline[
        -1
    ].items()


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"text": "", "author": "a"}, "text"),
        ({"text": "x" * 4001, "author": "a"}, "text"),
        ({"text": "x"}, "author"),
        ({"text": "x", "author": "a" * 129}, "author"),
        ({"text": "x", "author": "a", "pinned": True}, "pinned"),
        ({"text": 5, "author": "a"}, "text"),
    ],
)
async def test_a_bad_note_is_422_naming_the_field(stack: Stack, body: object, path: str) -> None:
    response = await note(stack, "d-1", body)
    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == [path]


async def test_notes_need_orders_write_and_a_known_order(stack: Stack) -> None:
    read_only = await note(stack, "d-1", {"text": "x", "author": "a"}, key="read")
    assert read_only.status_code == 403 and "orders:write" in read_only.text
    assert (await note(stack, "nope", {"text": "x", "author": "a"})).status_code == 404


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


async def test_csv_export_is_rfc4180_with_formula_cells_defused(stack: Stack) -> None:
    response = await stack.get("/v1/orders/shop/export.csv", sort="order_id")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    header, *rows = rows_of(response.text)
    assert header[:4] == ["order_id", "status", "category", "has_ok"] and len(header) == 16
    by_id = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    assert list(by_id) == ["d-1", "x-1", "x-2"]
    assert by_id["x-1"]["status"] == "'-1 Pending" and by_id["x-1"]["customer_id"] == "'+cust"
    assert by_id["x-1"]["offer_name"] == "'" + NASTY
    assert by_id["x-2"]["offer_name"] == 'Mugs, "big"\r\nand small', "quoted, not mangled"
    assert by_id["x-2"]["customer_id"] == "'@home" and by_id["x-2"]["payment_system"] == "'\tstripe"
    assert by_id["d-1"]["amount"] == "60.00" and by_id["d-1"]["has_ok"] == "true"
    assert by_id["d-1"]["created_at"] == "2026-01-01T10:00:00.000000Z"
    assert response.text.split("\n", 1)[0].endswith("\r") and response.text.endswith("\r\n")


async def test_csv_export_takes_the_list_filters_and_chosen_columns(stack: Stack) -> None:
    response = await stack.get(
        "/v1/orders/shop/export.csv", columns="order_id,amount,sales_manager", has_ok="false"
    )
    assert rows_of(response.text) == [["order_id", "amount", "sales_manager"], ["x-1", "1.00", ""]]


@pytest.mark.parametrize("chunk_rows", [1, 2, 3])
async def test_csv_export_is_the_same_whatever_the_chunk_size(
    stack: Stack, chunk_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = (await stack.get("/v1/orders/shop/export.csv", sort="order_id")).text
    monkeypatch.setattr(csv_export, "CHUNK_ROWS", chunk_rows)
    assert (await stack.get("/v1/orders/shop/export.csv", sort="order_id")).text == whole
    assert len(rows_of(whole)) == 4
