"""What rewards reads and writes on Kafka, as data: the source of docs/asyncapi.yaml."""

from __future__ import annotations

from pydantic import Field

from orderflow.services.rewards.entries import Kind
from orderflow.services.rewards.segment_messages import SEGMENTS_OUTPUT
from orderflow.shared import topics
from orderflow.shared.event_types import EventData, EventType, Output, ServiceEvents


class RewardGrantedData(EventData):
    """A member completed a challenge (CONTRACTS §5, docs/rewards.md)."""

    reward_id: str = Field(description="Stable id of the reward", examples=["5b1e…"])
    member_id: str = Field(description="Member rewarded", examples=["m-12"])
    challenge_id: str = Field(description="The tenant's challenge", examples=["first-order"])
    points: int = Field(description="Points granted", examples=[100])
    badge: str | None = Field(
        None, description="Badge granted, only when the challenge has one", examples=["first-sale"]
    )


class LedgerEntryData(EventData):
    """One entry of a member's append-only commission ledger (CONTRACTS §5)."""

    entry_id: str = Field(description="Stable id of the entry", examples=["9c4a…"])
    member_id: str = Field(description="Member the commission is for", examples=["m-12"])
    amount: str = Field(
        pattern=r"^-?[0-9]+(\.[0-9]+)?$",
        description="Signed decimal string in the currency's minor units; a reversal is negative",
        examples=["2.50", "-2.50"],
    )
    currency: str = Field(description="ISO 4217 code", examples=["EUR"])
    reason: str = Field(
        description="Why: `order_confirmed`, `order_<category>`, `order_partially_refunded` "
        "(a refund's share), `attribution_voided`, `sales_manager_reassigned`, "
        "`holding_period_elapsed`; `_after_approval` appended to a reversal after approval",
        examples=["order_confirmed", "order_partially_refunded", "order_refunded_after_approval"],
    )


class OrderCountedData(EventData):
    """A member's order is decided and counts in their statistics (internal)."""

    member_id: str = Field(description="Member credited with the order", examples=["m-12"])
    amount: str | None = Field(description="Order amount, decimal string", examples=["25.00"])
    currency: str | None = Field(description="ISO 4217 code of the amount", examples=["EUR"])
    offer_id: str | None = Field(description="Offer of the order", examples=["offer-9"])
    item_offers: list[str] = Field(description="Offers of its lines, sorted", examples=[["o-9"]])
    item_categories: list[str] = Field(
        description="Categories of its lines, sorted", examples=[["kitchen"]]
    )


LEDGER_MEANING = {
    Kind.ACCRUED: "Commission earned when an attributed order is confirmed",
    Kind.REVERSED: "An accrued commission taken back: a refund's share (`order.refunded`), or "
    "what is left (tenant `reverse_on`, a full refund, a voided or reassigned credit)",
    Kind.APPROVED: "What is left of an accrued commission, approved after `holding_days`",
}

EVENTS = ServiceEvents(
    service="rewards",
    reads={
        topics.ORDERS_LIFECYCLE: "Confirmations, reversals, refunds (`order.refunded`) and the "
        "order's summary",
        topics.ORDERS_ATTRIBUTION: "Which members are credited with the order",
        topics.REWARDS_MEMBER_FACTS: "Its own member facts: one partition decides each member's "
        "challenges, without locks across partitions",
    },
    writes=(
        Output(
            topics.REWARDS,
            "Challenges completed; a reward is never taken back",
            (EventType("reward.granted", "A challenge was completed", RewardGrantedData),),
        ),
        Output(
            topics.COMMISSIONS,
            "The commission ledger, append-only",
            tuple(EventType(k.event_type, LEDGER_MEANING[k], LedgerEntryData) for k in Kind),
        ),
        Output(
            topics.REWARDS_MEMBER_FACTS,
            "Each member's decided orders, from the order-keyed step to the member-keyed one "
            "(internal)",
            (EventType("member.order_counted", "A member's order now counts", OrderCountedData),),
            key="<tenant>:<member_id>",
        ),
        SEGMENTS_OUTPUT,
    ),
)
