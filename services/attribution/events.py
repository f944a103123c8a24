"""What attribution reads and writes on Kafka, as data: the source of docs/asyncapi.yaml."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, WithJsonSchema

from orderflow.services.attribution.credits import Model
from orderflow.shared import topics
from orderflow.shared.event_types import EventData, EventType, Output, ServiceEvents
from orderflow.shared.vocabulary import ContributorVia

CreditModel = Annotated[
    Model,
    WithJsonSchema({"type": "string", "enum": [m.value for m in Model]}),
    Field(description="`explicit` (a contributor of the report) or `last_touch`"),
]
VoidReason = Literal[
    "duplicate", "explicit_contributor", "superseded", "outside_window", "reassigned"
]


class CreditData(EventData):
    """A member's credit for the order (CONTRACTS §5, docs/attribution.md)."""

    member_id: str = Field(description="Member credited", examples=["m-12"])
    via: ContributorVia = Field(description="How the member contributed", examples=["affiliation"])
    model: CreditModel = Field(examples=["last_touch"])
    touchpoint_id: str | None = Field(
        None, description="The touchpoint credited (last touch only)", examples=["tp-1"]
    )
    confirmed_by: str | None = Field(
        None,
        description="With a confirmed sale: the sales manager's id, or `system`",
        examples=["manager-3"],
    )
    confirmed_at: datetime | None = Field(None, description="With a confirmed sale: when")


class AttributedData(CreditData):
    """The order is credited to a member; sent as soon as a contributor is known."""

    confirmed: bool = Field(description="The sale is confirmed (then confirmed_by, confirmed_at)")


class VoidedData(CreditData):
    """A credit is withdrawn."""

    reason: VoidReason = Field(
        description="`duplicate`: the order became a duplicate; `explicit_contributor`: an "
        "explicit contributor replaced a last touch; `superseded`: a later touch won; "
        "`outside_window`: the touch fell out of the lookback window; `reassigned`: a person "
        "with `sales:confirm` named another sales manager or the system (CONTRACTS §14)",
        examples=["duplicate"],
    )


EVENTS = ServiceEvents(
    service="attribution",
    reads={
        topics.ORDER_REPORTS: "The order's first report, its customer and explicit contributors",
        topics.TOUCHPOINTS_RECORDED: "Touchpoints: last-touch candidates per customer",
        topics.ORDERS_LIFECYCLE: "Has OK (fixes a last-touch credit) and `duplicate`",
    },
    writes=(
        Output(
            topics.ORDERS_ATTRIBUTION,
            "Credits per order; replaying the stream gives the current credits",
            (
                EventType(
                    "order.attributed", "A member is credited with the order", AttributedData
                ),
                EventType("order.attribution_voided", "A member's credit is withdrawn", VoidedData),
            ),
        ),
    ),
)
