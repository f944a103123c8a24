"""Every Kafka topic name in one place, with its partition count.

Public topics are CONTRACTS §3 and §5; internal ones are the project's own choice
and may change without a new contract version.
"""

from __future__ import annotations

from dataclasses import dataclass

# Public inbound (CONTRACTS §3)
ORDERS_INBOUND = "orders.inbound.v1"
TOUCHPOINTS_INBOUND = "touchpoints.inbound.v1"
PAYMENTS_INBOUND = "payments.inbound.v1"  # CONTRACTS §8

# Internal: ingest -> downstream services
ORDER_REPORTS = "ingest.reports.v1"
TOUCHPOINTS_RECORDED = "ingest.touchpoints.v1"
PAYMENT_REPORTS = "ingest.payments.v1"  # `payment.reported`: a validated §8 payment report

# Internal: rewards' order-keyed step -> its member-keyed step, keyed `<tenant>:<member_id>`
REWARDS_MEMBER_FACTS = "rewards.member-facts.v1"

# Public outbound (CONTRACTS §5)
ORDERS_LIFECYCLE = "orders.lifecycle.v1"
ORDERS_ATTRIBUTION = "orders.attribution.v1"
REWARDS = "rewards.v1"
COMMISSIONS = "commissions.v1"
NOTIFICATIONS = "notifications.v1"
RECURRING = "recurring.v1"  # CONTRACTS §10, keyed `<tenant>:<recurring_order_id>`
SEGMENTS = "segments.v1"  # CONTRACTS §11, keyed `<tenant>:<customer_id>`


def dead_letter_topic(service: str) -> str:
    """`<service>.dlq.v1` (CONTRACTS §5)."""
    return f"{service}.dlq.v1"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int


DEFAULT_PARTITIONS = 6


def all_topics(services: tuple[str, ...], partitions: int = DEFAULT_PARTITIONS) -> list[TopicSpec]:
    """The topics a running system needs, created explicitly at start (never auto-created)."""
    names = [
        ORDERS_INBOUND,
        TOUCHPOINTS_INBOUND,
        PAYMENTS_INBOUND,
        ORDER_REPORTS,
        TOUCHPOINTS_RECORDED,
        PAYMENT_REPORTS,
        REWARDS_MEMBER_FACTS,
        ORDERS_LIFECYCLE,
        ORDERS_ATTRIBUTION,
        REWARDS,
        COMMISSIONS,
        NOTIFICATIONS,
        RECURRING,
        SEGMENTS,
        *(dead_letter_topic(s) for s in services),
    ]
    return [TopicSpec(n, partitions) for n in names]
