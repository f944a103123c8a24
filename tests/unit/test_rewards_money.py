"""Commission amounts: the rate chosen, the one rounding rule, the currency's minor units."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orderflow.services.rewards.money import (
    Rate,
    commission_on,
    rate_for,
    to_minor_units,
)
from orderflow.shared.currencies import minor_units
from orderflow.shared.tenants import Commission


@pytest.mark.parametrize(
    ("currency", "units"), [("EUR", 2), ("usd", 2), ("JPY", 0), ("KWD", 3), ("CLF", 4), ("XYZ", 2)]
)
def test_minor_units_follow_iso_4217(currency: str, units: int) -> None:
    assert minor_units(currency) == units


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        ("1.005", "EUR", "1.00"),  # half to even: down
        ("1.015", "EUR", "1.02"),  # half to even: up
        ("1.0051", "EUR", "1.01"),  # above half
        ("2.5", "JPY", "2"),
        ("3.5", "JPY", "4"),
        ("0.0005", "KWD", "0.000"),
        ("0.0015", "KWD", "0.002"),
        ("7", "EUR", "7.00"),
    ],
)
def test_rounding_is_half_even_to_minor_units(amount: str, currency: str, expected: str) -> None:
    assert format(to_minor_units(Decimal(amount), currency), "f") == expected


def test_commission_is_percent_of_amount_plus_fixed_rounded_once() -> None:
    # 12.5 % of 9.00 = 1.125, + 0.005 = 1.130; rounding each part first would give 1.12 + 0.00
    rate = Rate(Decimal("12.5"), Decimal("0.005"))
    assert commission_on(Decimal("9.00"), "EUR", rate) == Decimal("1.13")


def test_per_offer_rate_replaces_the_default_and_absent_parts_are_zero() -> None:
    commission = Commission.model_validate(
        {
            "percent": "10",
            "fixed": "1.00",
            "per_offer": {"premium": {"percent": "15"}, "trial": {"fixed": "5.00"}},
        }
    )
    assert rate_for(commission, None) == Rate(Decimal("10"), Decimal("1.00"))
    assert rate_for(commission, "unknown") == Rate(Decimal("10"), Decimal("1.00"))
    assert rate_for(commission, "premium") == Rate(Decimal("15"), Decimal(0))
    assert rate_for(commission, "trial") == Rate(Decimal(0), Decimal("5.00"))
