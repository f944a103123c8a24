"""ISO 4217 currencies and their minor units: which codes an amount may be in, and how many
fraction digits it may have.

Shared because both are part of the contract (CONTRACTS §3.1): ingest refuses a code that is
not here, and every service that validates or rounds money must agree on the digits.

The table is ISO 4217 List One (current and fund codes, including those still in transition:
ANG/XCG, SLL/SLE, ZWL/ZWG, CUC). Codes without minor units are left out on purpose, because
an order cannot be paid in them: precious metals (XAU, XAG, XPD, XPT), bond-market units
(XBA-XBD), the SDR (XDR), XSU, XUA, the testing code XTS and XXX ("no currency").
"""

from __future__ import annotations

DEFAULT_MINOR_UNITS = 2
_TWO_DIGITS = """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN
BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP
GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK
LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK
NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD
SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG
YER ZAR ZMW ZWG ZWL
"""
_BY_MINOR_UNITS = (
    (0, "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"),
    (2, _TWO_DIGITS),
    (3, "BHD IQD JOD KWD LYD OMR TND"),
    (4, "CLF UYW"),
)
MINOR_UNITS: dict[str, int] = {
    code: units for units, codes in _BY_MINOR_UNITS for code in codes.split()
}
CURRENCIES = frozenset(MINOR_UNITS)


def is_currency(code: str) -> bool:
    """Whether `code` is an ISO 4217 currency an amount may be in (upper case, as on the wire)."""
    return code in CURRENCIES


def minor_units(currency: str) -> int:
    """The currency's fraction digits. Ingest accepts only codes of the table; the default
    serves data stored before that rule, so rounding it never fails."""
    return MINOR_UNITS.get(currency.upper(), DEFAULT_MINOR_UNITS)
