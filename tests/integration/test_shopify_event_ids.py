"""Shopify redeliveries recognised by X-Shopify-Event-Id on the real route (CONTRACTS §4)."""

from __future__ import annotations

import json

import pytest

from orderflow.services.ingest.webhooks.signatures import shopify_signature
from orderflow.shared import topics
from tests.harness import TopicReader
from tests.integration.test_webhooks_http import (  # noqa: F401 (hooks is a fixture)
    SECRETS,
    SHOPIFY,
    Hooks,
    fixture,
    hooks,
    shopify_headers,
)

pytestmark = pytest.mark.integration
EVENT_ID = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"


def signed(body: bytes, webhook_id: str, event_id: str) -> dict[str, str]:
    signature = shopify_signature(body, SECRETS["HOOKS_SHOPIFY_SECRET"])
    return shopify_headers(signature, webhook_id) | {"X-Shopify-Event-Id": event_id}


async def test_one_event_delivered_twice_in_two_shapes_counts_once(
    hooks: Hooks,  # noqa: F811 (the fixture imported above)
    stack_env: dict[str, str],
) -> None:
    paid = fixture("shopify_orders_paid.json")
    # Another subscription (another API version) of the same event: other bytes, other
    # fields, another webhook id.
    reshaped = json.loads(paid)
    reshaped.pop("line_items")
    reshaped["id"] = str(reshaped["id"])
    other = json.dumps(reshaped, separators=(",", ":")).encode()

    first = await hooks.post(SHOPIFY, paid, signed(paid, "wh-a", EVENT_ID))
    again = await hooks.post(SHOPIFY, other, signed(other, "wh-b", EVENT_ID))
    later = await hooks.post(SHOPIFY, paid, signed(paid, "wh-c", "another-event"))

    assert [a.status_code for a in (first, again, later)] == [202, 202, 202]
    assert [a.json()["duplicates"] for a in (first, again, later)] == [0, 1, 0]
    assert again.json()["accepted"] == first.json()["accepted"]
    assert len(await hooks.stored()) == 2
    async with TopicReader(stack_env, topics.ORDER_REPORTS) as reader:
        await reader.read_until(lambda es: len(es) >= 2)
        events = await reader.settle(2.0)
    assert len(events) == 2, "the redelivered event publishes nothing more"
