"""An order's attribution state, the events a decision emits, and a refused command. Pure data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

from orderflow.services.attribution.credits import Contributor, Credit

ATTRIBUTED = "order.attributed"
VOIDED = "order.attribution_voided"
SYSTEM = "system"
OrderKey: TypeAlias = tuple[str, str]  # (tenant, order_id)
CustomerKey: TypeAlias = tuple[str, str]  # (tenant, customer_id)


@dataclass(frozen=True)
class Confirmation:
    """Who confirmed the sale (a sales manager, or None for the system) and when."""

    manager_id: str | None
    confirmed_at: datetime

    @property
    def confirmed_by(self) -> str:
        return self.manager_id if self.manager_id is not None else SYSTEM


@dataclass(frozen=True)
class SellerChoice:
    """Who a person with `sales:confirm` said made the sale (CONTRACTS §14); None: the system."""

    manager_id: str | None


@dataclass(frozen=True)
class OrderAttribution:
    order_id: str
    # False until the order's first report arrived: a lifecycle event or a touchpoint naming
    # the order may come first, and nothing is credited before the order is known.
    reported: bool = False
    ordered_at: datetime | None = None  # upstream time of the order's first report
    customer_id: str | None = None
    customer_rank: tuple[datetime, str] | None = None  # (occurred_at, report_id) that named it
    contributors: tuple[Contributor, ...] = ()
    has_ok: bool = False
    duplicate: bool = False
    confirmation: Confirmation | None = None
    choice: SellerChoice | None = None  # overrides the reports' sales managers (sellers.py)
    credits: tuple[Credit, ...] = ()
    # The key of every credit ever granted, in order: numbers a credit granted again after a
    # void, so that its events get ids of their own.
    granted: tuple[str, ...] = ()

    @property
    def fixed(self) -> bool:
        """A last-touch credit given now is final: the order is Has OK or its sale confirmed."""
        return self.has_ok or self.confirmation is not None


@dataclass(frozen=True)
class CreditEvent:
    type: str
    credit: Credit
    occurred_at: datetime
    # Unique per order and stable across redelivery: hashed into the event id.
    discriminator: str
    reason: str | None = None
    confirmation: Confirmation | None = None


@dataclass(frozen=True)
class Decision:
    state: OrderAttribution
    events: tuple[CreditEvent, ...]


class Refused(Exception):
    """A command that conflicts with the order; `path` names the request field at fault."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path, self.message = path, message
