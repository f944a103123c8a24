"""Stripe's amounts: integers in the currency's smallest unit, by Stripe's own table. Pure."""

from __future__ import annotations

from decimal import Decimal

# Stripe writes amounts in minor units; these are its exceptions to two decimals.
_ZERO_DECIMAL_CODES = "BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF"
_ZERO_DECIMAL = frozenset(_ZERO_DECIMAL_CODES.split())
_THREE_DECIMAL = frozenset(["BHD", "JOD", "KWD", "OMR", "TND"])
# ISK has no minor unit (ISO 4217) but Stripe still writes it with two decimals, always 00.
_WHOLE_BUT_TWO_DECIMAL = frozenset({"ISK"})


def decimal_text(minor: int, currency: str) -> str:
    """`minor` units of `currency` (upper case) as an exact decimal string."""
    digits = 0 if currency in _ZERO_DECIMAL else 3 if currency in _THREE_DECIMAL else 2
    amount = Decimal(minor).scaleb(-digits)
    if currency in _WHOLE_BUT_TWO_DECIMAL and amount == amount.to_integral_value():
        amount = amount.quantize(Decimal(1))
    return format(amount, "f")
