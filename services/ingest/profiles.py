"""The built-in status profiles (CONTRACTS §2): what each external status means.

Pure: a tenant's profile and overrides come in as arguments. A status that neither knows
is answered with None; what then happens to the order is the status tracker's decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from orderflow.shared.vocabulary import Category, StatusProfile, normalise_status

_C = Category

# The contract's table, written as it reads there (display spelling, per category).
PROFILE_TABLE: Mapping[StatusProfile, Mapping[Category, tuple[str, ...]]] = MappingProxyType(
    {
        StatusProfile.LOYALTY: {
            _C.PENDING: (
                "Pending",
                "Awaiting payment",
                "Awaiting withdrawal period",
                "Awaiting cheque",
            ),
            _C.CONFIRMED: ("OK",),
            _C.FULFILLED: ("Fulfilled", "Sent", "Delivered"),
            _C.CANCELLED: ("Cancelled",),
            _C.REFUNDED: ("Returned", "Refunded"),
        },
        StatusProfile.AFFILIATE: {
            _C.PENDING: ("Pending", "Pixel Tracked", "Processing"),
            _C.CONFIRMED: ("Sale",),
            _C.REFUNDED: ("Refund", "Satisfaction Refund"),
            _C.CHARGEBACK: ("Chargeback",),
            _C.SUPPRESSED: ("Suppression",),
            _C.DUPLICATE: ("Duplicate",),
        },
        StatusProfile.ORDERS_API: {
            _C.PENDING: ("Created",),
            _C.CONFIRMED: ("Paid",),
            _C.FULFILLED: ("Fulfilled",),
            _C.CANCELLED: ("Cancelled", "Canceled"),
        },
        StatusProfile.CRM: {
            _C.PENDING: ("Open",),
            _C.CONFIRMED: ("Completed",),
            _C.DECLINED: ("Declined",),
            _C.REFUNDED: ("Refund",),
        },
        # CONTRACTS §2 correction: "Accepted" means the card will now be charged, not paid.
        StatusProfile.STORE: {
            _C.PENDING: ("Received", "Accepted", "Pending payment"),
            _C.CONFIRMED: ("Completed",),
            _C.CANCELLED: ("Canceled", "Cancelled"),
            _C.DECLINED: ("Declined",),
            _C.EXPIRED: ("Expired",),
        },
    }
)


def _index(table: Mapping[Category, tuple[str, ...]]) -> Mapping[str, Category]:
    index: dict[str, Category] = {}
    for category, statuses in table.items():
        for status in statuses:
            # One matching form may mean one thing only, or the table itself is ambiguous.
            if index.setdefault(normalise_status(status), category) is not category:
                raise ValueError(f"status {status!r} is listed under two categories")
    return MappingProxyType(index)


# Each profile keyed by the matching form of its statuses.
PROFILES: Mapping[StatusProfile, Mapping[str, Category]] = MappingProxyType(
    {profile: _index(table) for profile, table in PROFILE_TABLE.items()}
)

# Statuses that start the pending-payment expiry timer (the store profile's "Pending payment").
PENDING_PAYMENT_STATUSES = frozenset({normalise_status("Pending payment")})


def categorise(
    profile: StatusProfile, overrides: Mapping[str, Category], status: str
) -> Category | None:
    """The category of an external status for a tenant, or None when it is unknown.

    The tenant's overrides win over the profile; both match case-insensitively, ignoring
    surrounding spaces and `_`/`-`/space differences.
    """
    wanted = normalise_status(status)
    for override, category in overrides.items():
        if normalise_status(override) == wanted:
            return category
    return PROFILES[profile].get(wanted)


def starts_payment_expiry(status: str) -> bool:
    """Whether this external status starts the pending-payment expiry timer."""
    return normalise_status(status) in PENDING_PAYMENT_STATUSES
