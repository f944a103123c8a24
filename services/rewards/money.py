"""Commission money: Decimal amounts in the currency's minor units, one rounding rule.

The rule (docs/rewards.md): a commission is computed exactly, `amount * percent / 100 + fixed`,
and rounded once, ROUND_HALF_EVEN (banker's rounding) to the currency's ISO 4217 minor units.
A whole reversal is the exact negation of what is left of its accrual, so it is never rounded
again; a refund's part, `accrued * refund / order amount`, is computed exactly and rounded
once the same way (`pro_rata`).

Decimal's default context keeps 28 digits and `quantize` raises `InvalidOperation` on a
result longer than that; ingest bounds amounts well inside it (CONTRACTS §3.1), and the
arithmetic here uses enough digits for any finite operands anyway, so no amount or
configured rate can make a decision raise instead of deciding.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

from orderflow.shared.currencies import minor_units
from orderflow.shared.tenants import Commission

ROUNDING = ROUND_HALF_EVEN
# Exact for every product of a contract amount (<= 19 digits) and a configured rate.
_EXACT_DIGITS = 200


def to_minor_units(amount: Decimal, currency: str) -> Decimal:
    """`amount` rounded half-even to the currency's minor units (`1.005 EUR` -> `1.00`)."""
    units = minor_units(currency)
    digits = max(amount.adjusted() + 1, 1) + units + 1  # what the rounded result can need
    context = Context(prec=max(28, digits), rounding=ROUNDING)
    return amount.quantize(Decimal(1).scaleb(-units), context=context)


@dataclass(frozen=True)
class Rate:
    percent: Decimal = Decimal(0)
    fixed: Decimal = Decimal(0)


def rate_for(commission: Commission, offer_id: str | None) -> Rate:
    """The tenant's rate, or the order's offer's own rate where `per_offer` names it.

    An offer's rate replaces the default whole: a part it leaves out is zero, so
    `{fixed: "5.00"}` is a flat 5.00 per order.
    """
    override = commission.per_offer.get(offer_id) if offer_id is not None else None
    if override is None:
        return Rate(commission.percent, commission.fixed)
    return Rate(override.percent or Decimal(0), override.fixed or Decimal(0))


def commission_on(amount: Decimal, currency: str, rate: Rate) -> Decimal:
    with localcontext(prec=_EXACT_DIGITS):
        exact = amount * rate.percent / 100 + rate.fixed
    return to_minor_units(exact, currency)


def pro_rata(accrued: Decimal, part: Decimal, whole: Decimal, currency: str) -> Decimal:
    """`accrued * part / whole`, rounded once, half-even, to the currency's minor units."""
    with localcontext(prec=_EXACT_DIGITS):
        exact = accrued * part / whole
    return to_minor_units(exact, currency)
