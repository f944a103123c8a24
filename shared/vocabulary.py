"""Words of the public contract (CONTRACTS.md §1) that every service shares.

These are names, not rules: what a status *means* for a tenant lives in the ingest
service's status profiles, and what a category *causes* lives in each service's domain.
"""

from __future__ import annotations

import re
from enum import StrEnum

TENANT_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
TENANT_RE = re.compile(TENANT_PATTERN)


class Category(StrEnum):
    """What an external status means (CONTRACTS §1)."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"
    DECLINED = "declined"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    CHARGEBACK = "chargeback"
    SUPPRESSED = "suppressed"
    DUPLICATE = "duplicate"


class StatusProfile(StrEnum):
    """Built-in status profiles a tenant can pick (CONTRACTS §2)."""

    LOYALTY = "loyalty"
    AFFILIATE = "affiliate"
    ORDERS_API = "orders_api"
    CRM = "crm"
    STORE = "store"


class ContributorVia(StrEnum):
    AFFILIATION = "affiliation"
    CONVERSATION = "conversation"
    SALES_MANAGER = "sales_manager"
    COUPON = "coupon"


class TouchpointKind(StrEnum):
    CLICK = "click"
    CONVERSATION = "conversation"
    COUPON = "coupon"


def normalise_status(status: str) -> str:
    """The matching form of an external status: case-insensitive, surrounding spaces
    ignored, and `_`, `-` and runs of spaces treated alike (CONTRACTS §2)."""
    return re.sub(r"[\s_\-]+", " ", status.strip()).casefold()
