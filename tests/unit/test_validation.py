"""Validation rules (CONTRACTS §11): every failing condition reported with its code."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import yaml

from orderflow.services.rewards.validation import Cart, Line, Shopper, judge, same
from orderflow.shared.tenant_segments import ValidationRule

CART = Cart(
    Decimal("50.00"),
    "EUR",
    (Line("sku-1", 2, "shoes", "offer-1"), Line("sku-2", 1, "socks"), Line("sku-1", 1, "shoes")),
    {"channel": "mobile_app", "vip": True, "n": 1},
)


def rule(text: str) -> ValidationRule:
    return ValidationRule.model_validate(yaml.safe_load(text))


def codes(text: str, cart: Cart = CART, shopper: Shopper | None = None) -> list[str]:
    return [f.code for f in judge(rule(text), cart, shopper or Shopper()).failures]


CASES: list[tuple[str, list[str]]] = [
    ("{id: r, cart: {min_amount: '50.00', currency: EUR}}", []),
    ("{id: r, cart: {min_amount: '50.01', currency: EUR}}", ["cart.min_amount"]),
    ("{id: r, cart: {max_amount: '49.99', currency: EUR}}", ["cart.max_amount"]),
    ("{id: r, cart: {min_amount: '1', max_amount: '2', currency: USD}}", ["cart.currency"]),
    ("{id: r, cart: {min_items: 3}}", ["cart.min_items"]),  # two distinct skus
    ("{id: r, cart: {max_items: 1}}", ["cart.max_items"]),
    ("{id: r, cart: {min_quantity: 5}}", ["cart.min_quantity"]),  # four units
    ("{id: r, cart: {max_quantity: 4}}", []),
    ("{id: r, cart: {required: {categories: [shoes, hats], match: any}}}", []),
    ("{id: r, cart: {required: {categories: [shoes, hats], match: all}}}", ["cart.required"]),
    ("{id: r, cart: {required: {offers: [offer-1]}}}", []),
    ("{id: r, cart: {required: {skus: [sku-9]}}}", ["cart.required"]),
    ("{id: r, cart: {excluded: {skus: [sku-9], categories: [socks]}}}", ["cart.excluded"]),
    ("{id: r, customer: {segments_any: [loyal]}}", ["customer.segments_any"]),
    ("{id: r, customer: {segments_none: [loyal], min_orders: 1}}", ["customer.min_orders"]),
    ("{id: r, metadata: {channel: {in: [web, mobile_app]}, vip: {equals: true}}}", []),
    ("{id: r, metadata: {channel: {equals: web}, gone: {exists: true}}}",
     ["metadata.channel", "metadata.gone"]),
    ("{id: r, metadata: {n: {equals: true}, vip: {exists: false}}}", ["metadata.n", "metadata.vip"]),
    ("{id: r, cart: {min_amount: '60', currency: EUR, max_items: 1, excluded: {categories: [socks]}},"
     " customer: {min_orders: 2}, metadata: {channel: {equals: web}}}",
     ["cart.excluded", "cart.max_items", "cart.min_amount", "customer.min_orders",
      "metadata.channel"]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_each_failing_condition_is_reported_with_its_code(text: str, expected: list[str]) -> None:
    assert codes(text) == expected


def test_a_known_customer_in_a_segment_passes_segments_any_and_fails_segments_none() -> None:
    loyal = Shopper(3, frozenset({"loyal"}))
    assert (
        codes("{id: r, customer: {segments_any: [loyal, vip], min_orders: 3}}", shopper=loyal) == []
    )
    assert codes("{id: r, customer: {segments_none: [loyal]}}", shopper=loyal) == [
        "customer.segments_none"
    ]


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [(1, 1.0, True), (True, 1, False), ("1", 1, False), ([1, {"a": None}], [1.0, {"a": None}], True),
     (Decimal("2.50"), 2.5, True), (None, None, True), ({"a": 1}, {"b": 1}, False)],
)  # fmt: skip
def test_metadata_equality_is_json_equality(a: Any, b: Any, equal: bool) -> None:
    assert same(a, b) is equal
