"""Validation rules (CONTRACTS §11 `validation_rules:`): is this cart valid for this customer?

Pure. A rule holds when none of its conditions fails; every failing condition is reported
with its code. A condition kind is a field of `CartRule`/`CustomerRule` or a metadata key
(shared/tenant_segments.py) plus its function here, under the same name. Failures are sorted,
so a verdict never depends on the order conditions are written or checked in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from orderflow.shared.tenant_segments import (
    CartRule,
    CustomerRule,
    Excluded,
    MetadataCondition,
    Required,
    ValidationRule,
)


@dataclass(frozen=True)
class Line:
    sku: str
    quantity: int
    category: str | None = None
    offer_id: str | None = None


@dataclass(frozen=True)
class Cart:
    amount: Decimal
    currency: str
    items: tuple[Line, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def named(self, kind: str) -> set[str]:
        """The cart's skus, categories or offers."""
        attribute = {"skus": "sku", "categories": "category", "offers": "offer_id"}[kind]
        return {v for line in self.items if (v := getattr(line, attribute)) is not None}


@dataclass(frozen=True)
class Shopper:
    """The customer as validation sees them; an anonymous cart has no orders, no segments."""

    orders_count: int = 0
    segments: frozenset[str] = frozenset()


@dataclass(frozen=True, order=True)
class Failure:
    code: str
    message: str


@dataclass(frozen=True)
class RuleVerdict:
    id: str
    failures: tuple[Failure, ...]

    @property
    def valid(self) -> bool:
        return not self.failures


Found = list[Failure]


def _amount_bound(name: str, bound: Decimal, rule: CartRule, cart: Cart) -> Found:
    if rule.currency != cart.currency:
        return []  # reported once, as cart.currency
    low = name == "min_amount"
    if (cart.amount < bound) if low else (cart.amount > bound):
        word = "at least" if low else "at most"
        return [Failure(f"cart.{name}", f"the amount must be {word} {bound} {rule.currency}")]
    return []


def _currency(currency: str, rule: CartRule, cart: Cart) -> Found:
    if cart.currency != currency:
        return [Failure("cart.currency", f"the cart must be in {currency}, not {cart.currency}")]
    return []


def _count(name: str, what: str, measure: Callable[[Cart], int]) -> Callable[..., Found]:
    low = name.startswith("min_")

    def check(bound: int, rule: CartRule, cart: Cart) -> Found:
        value = measure(cart)
        if (value < bound) if low else (value > bound):
            word = "at least" if low else "at most"
            return [
                Failure(f"cart.{name}", f"the cart must hold {word} {bound} {what}, not {value}")
            ]
        return []

    return check


def _lines(cart: Cart) -> int:
    return len({line.sku for line in cart.items})


def _units(cart: Cart) -> int:
    return sum(line.quantity for line in cart.items)


def _listed(condition: Required | Excluded) -> list[tuple[str, tuple[str, ...]]]:
    kinds = ("skus", "categories", "offers")
    return [(k, v) for k in kinds if (v := getattr(condition, k)) is not None]


def _required(condition: Required, rule: CartRule, cart: Cart) -> Found:
    [(kind, listed)] = _listed(condition)
    present = cart.named(kind) & set(listed)
    if present if condition.match == "any" else present == set(listed):
        return []
    missing = sorted(set(listed) - present)
    return [Failure("cart.required", f"the cart must hold {condition.match} of {kind} {missing}")]


def _excluded(condition: Excluded, rule: CartRule, cart: Cart) -> Found:
    found = [(k, sorted(cart.named(k) & set(v))) for k, v in _listed(condition)]
    return [
        Failure("cart.excluded", f"the cart must not hold {kind} {present}")
        for kind, present in found
        if present
    ]


CART: dict[str, Callable[..., Found]] = {
    "min_amount": lambda bound, rule, cart: _amount_bound("min_amount", bound, rule, cart),
    "max_amount": lambda bound, rule, cart: _amount_bound("max_amount", bound, rule, cart),
    "currency": _currency,
    "min_items": _count("min_items", "distinct lines", _lines),
    "max_items": _count("max_items", "distinct lines", _lines),
    "min_quantity": _count("min_quantity", "units", _units),
    "max_quantity": _count("max_quantity", "units", _units),
    "required": _required,
    "excluded": _excluded,
}


def _segments_any(listed: tuple[str, ...], shopper: Shopper) -> Found:
    if shopper.segments.isdisjoint(listed):
        return [Failure("customer.segments_any", f"the customer must be in one of {list(listed)}")]
    return []


def _segments_none(listed: tuple[str, ...], shopper: Shopper) -> Found:
    if inside := sorted(shopper.segments.intersection(listed)):
        return [Failure("customer.segments_none", f"the customer must not be in {inside}")]
    return []


def _min_orders(bound: int, shopper: Shopper) -> Found:
    if shopper.orders_count < bound:
        message = f"the customer needs at least {bound} orders, has {shopper.orders_count}"
        return [Failure("customer.min_orders", message)]
    return []


CUSTOMER: dict[str, Callable[[Any, Shopper], Found]] = {
    "segments_any": _segments_any,
    "segments_none": _segments_none,
    "min_orders": _min_orders,
}


def same(a: Any, b: Any) -> bool:
    """JSON equality: `1` equals `1.0`, but `true` is not `1` and `"1"` is not `1`."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float | Decimal) and isinstance(b, int | float | Decimal):
        return Decimal(str(a)) == Decimal(str(b))
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _metadata(key: str, condition: MetadataCondition, metadata: Mapping[str, Any]) -> Found:
    [kind] = condition.model_fields_set
    present, value = key in metadata, metadata.get(key)
    if kind == "exists":
        ok, wanted = present == condition.exists, "be present" if condition.exists else "be absent"
    elif kind == "equals":
        ok, wanted = present and same(value, condition.equals), f"equal {condition.equals!r}"
    else:
        listed = condition.in_ or ()
        ok, wanted = present and any(same(value, v) for v in listed), f"be one of {list(listed)!r}"
    return [] if ok else [Failure(f"metadata.{key}", f"metadata {key!r} must {wanted}")]


def _set(model: CartRule | CustomerRule) -> list[tuple[str, Any]]:
    return [(n, v) for n in type(model).model_fields if (v := getattr(model, n)) is not None]


def judge(rule: ValidationRule, cart: Cart, shopper: Shopper) -> RuleVerdict:
    failures: Found = []
    if rule.cart is not None:
        failures += [f for n, v in _set(rule.cart) for f in CART[n](v, rule.cart, cart)]
    if rule.customer is not None:
        failures += [f for n, v in _set(rule.customer) for f in CUSTOMER[n](v, shopper)]
    for key, condition in (rule.metadata or {}).items():
        failures += _metadata(key, condition, cart.metadata)
    return RuleVerdict(rule.id, tuple(sorted(set(failures))))


def verdicts(rules: Sequence[ValidationRule], cart: Cart, shopper: Shopper) -> list[RuleVerdict]:
    return [judge(rule, cart, shopper) for rule in rules]


def needs_customer(rules: Sequence[ValidationRule]) -> bool:
    return any(rule.customer is not None for rule in rules)
