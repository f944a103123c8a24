"""A recurring order's state and the facts that move it (CONTRACTS §10). Pure data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from orderflow.services.status_tracker.recurring_schedule import Interval
from orderflow.services.status_tracker.recurring_table import Status


@dataclass(frozen=True)
class Terms:
    """What the initial order's report said: the plan and the order every charge repeats."""

    initial_order_id: str
    interval: Interval
    payments_total: int | None
    amount: Decimal | None
    currency: str | None
    customer_id: str | None = None
    offer_id: str | None = None


@dataclass(frozen=True)
class RecurringOrder:
    tenant: str
    recurring_order_id: str
    terms: Terms
    correlation_id: str
    status: Status | None = None  # None: registered, the initial payment not succeeded yet
    anchor_at: datetime | None = None  # the initial payment's occurred_at
    payments_made: int = 0
    sequence: int = 1  # the charge being collected, or the next one
    attempt: int = 1
    awaiting: bool = False  # charge_due of (sequence, attempt) published, no outcome yet
    next_payment_at: datetime | None = None
    due_at: datetime | None = None  # the durable timer: next_payment_at unless held
    version: int = 0

    @property
    def payments_remaining(self) -> int | None:
        total = self.terms.payments_total
        return None if total is None else max(total - self.payments_made, 0)


class Action(StrEnum):
    PAUSE = "pause"
    ACTIVATE = "activate"
    COMPLETE = "complete"


@dataclass(frozen=True)
class InitialPaid:
    occurred_at: datetime
    payment_system: str | None = None


@dataclass(frozen=True)
class ChargeDue:
    due_at: datetime  # the timer's due time, checked against the order's


@dataclass(frozen=True)
class ChargeSucceeded:
    sequence: int
    occurred_at: datetime
    payment_system: str | None = None


@dataclass(frozen=True)
class ChargeFailed:
    sequence: int
    occurred_at: datetime
    payment_system: str | None = None


@dataclass(frozen=True)
class Managed:
    action: Action
    at: datetime  # now
    by: str | None = None


Fact = InitialPaid | ChargeDue | ChargeSucceeded | ChargeFailed | Managed


@dataclass(frozen=True)
class Policy:
    """The tenant's `recurring` settings: retry_intervals[k] after failed attempt k + 1."""

    retry_intervals: tuple[timedelta, ...] = (timedelta(days=1), timedelta(days=3))


@dataclass(frozen=True)
class ChargeRequested:
    sequence: int
    attempt: int
    due_at: datetime


@dataclass(frozen=True)
class ChargeSettled:
    """An attempt's outcome, for the order's list of charges."""

    sequence: int
    attempt: int
    status: str  # `succeeded`, `processing` (failed, a retry is due) or `failed` (no retry)
    occurred_at: datetime
    payment_system: str | None
