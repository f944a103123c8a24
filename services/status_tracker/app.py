"""Composition root of the status-tracker service."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from orderflow.services.status_tracker import credit_handlers, events, handlers, payments_handlers
from orderflow.services.status_tracker.domain import ExpiryRule
from orderflow.services.status_tracker.http_api import OrdersApi
from orderflow.services.status_tracker.payments_api import PaymentsApi
from orderflow.services.status_tracker.payments_read import OrderPayments
from orderflow.services.status_tracker.recurring_api import RecurringApi
from orderflow.services.status_tracker.recurring_state import Policy
from orderflow.services.status_tracker.recurring_timers import RecurringTimers
from orderflow.services.status_tracker.sales_report_api import SalesReportApi
from orderflow.services.status_tracker.settings import TrackerSettings
from orderflow.services.status_tracker.timers import ExpiryTimers
from orderflow.shared import topics
from orderflow.shared.service import Components, Runtime
from orderflow.shared.tenants import TenantRegistry
from orderflow.shared.vocabulary import normalise_status

NAME = "status-tracker"
MIGRATIONS = Path(__file__).parent / "migrations"
SETTINGS = TrackerSettings
# The status that starts the pending-payment timer (CONTRACTS §6 `expiry.pending_payment`).
PENDING_PAYMENT = normalise_status("Pending payment")


def starts_payment_expiry(status: str) -> bool:
    return normalise_status(status) == PENDING_PAYMENT


def expiry_rules(tenants: TenantRegistry) -> dict[str, ExpiryRule]:
    return {
        name: ExpiryRule(starts_payment_expiry, tenants.get(name).pending_payment_expiry())
        for name in tenants.tenants()
    }


def recurring_policies(tenants: TenantRegistry) -> dict[str, Policy]:
    return {name: Policy(tenants.get(name).recurring.retry_intervals) for name in tenants.tenants()}


def build(runtime: Runtime) -> Components:
    settings = runtime.settings
    assert isinstance(settings, TrackerSettings)
    rules = expiry_rules(runtime.tenants)
    payment_rules = payments_handlers.payment_rules(runtime.tenants, rules)
    timers = ExpiryTimers(
        runtime.pool,
        rules,
        settings.timer_poll_interval_s,
        settings.timer_batch_size,
        runtime.relay.wake,
    )
    policies = recurring_policies(runtime.tenants)
    recurring = RecurringTimers(
        runtime.pool,
        policies,
        settings.timer_poll_interval_s,
        settings.recurring_batch_size,
        runtime.relay.wake,
    )

    def recurring_committed(released: bool) -> None:
        runtime.relay.wake()
        if released:
            recurring.wake()

    payments_api = PaymentsApi(runtime.pool, runtime.tenants, payment_rules, runtime.relay.wake)
    sales_api = SalesReportApi(runtime.pool, runtime.tenants)
    recurring_api = RecurringApi(runtime.pool, runtime.tenants, policies, recurring_committed)
    orders_api = OrdersApi(runtime.pool, runtime.tenants, runtime.relay.wake, OrderPayments())
    return Components(
        handlers={
            topics.ORDER_REPORTS: partial(
                handlers.on_order_reported,
                rules=rules,
                payment_rules=payment_rules,
                recurring=policies,
            ),
            topics.ORDERS_ATTRIBUTION: credit_handlers.on_attribution,
            topics.PAYMENT_REPORTS: partial(
                payments_handlers.on_payment_reported, rules=payment_rules, recurring=policies
            ),
        },
        routes=orders_api.routes()
        + recurring_api.routes()
        + payments_api.routes()
        + sales_api.routes(),
        loops=[timers.run, recurring.run],
        topics=events.EVENTS.written(),
    )
