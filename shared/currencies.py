"""ISO 4217 minor units: how many fraction digits an amount in a currency may have.

Shared because an amount's precision is part of the contract (CONTRACTS §3.1) and every
service that validates or rounds money must agree on it.
"""

from __future__ import annotations

DEFAULT_MINOR_UNITS = 2
# Currencies whose minor units are not 2.
_EXCEPTIONS = (
    (0, "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"),
    (3, "BHD IQD JOD KWD LYD OMR TND"),
    (4, "CLF UYW"),
)
MINOR_UNITS: dict[str, int] = {
    code: units for units, codes in _EXCEPTIONS for code in codes.split()
}


def minor_units(currency: str) -> int:
    return MINOR_UNITS.get(currency.upper(), DEFAULT_MINOR_UNITS)
