"""The built-in status profiles, every entry of CONTRACTS §2, and how statuses are matched."""

from __future__ import annotations

import pytest

from orderflow.services.ingest.profiles import PROFILES, categorise, starts_payment_expiry
from orderflow.shared.vocabulary import Category, StatusProfile, normalise_status

P, C = StatusProfile, Category

# Written out again from the contract's table, independently of the implementation's copy.
CONTRACT_TABLE: list[tuple[StatusProfile, str, Category]] = [
    (P.LOYALTY, "Pending", C.PENDING),
    (P.LOYALTY, "Awaiting payment", C.PENDING),
    (P.LOYALTY, "Awaiting withdrawal period", C.PENDING),
    (P.LOYALTY, "Awaiting cheque", C.PENDING),
    (P.LOYALTY, "OK", C.CONFIRMED),
    (P.LOYALTY, "Fulfilled", C.FULFILLED),
    (P.LOYALTY, "Sent", C.FULFILLED),
    (P.LOYALTY, "Delivered", C.FULFILLED),
    (P.LOYALTY, "Cancelled", C.CANCELLED),
    (P.LOYALTY, "Returned", C.REFUNDED),
    (P.LOYALTY, "Refunded", C.REFUNDED),
    (P.AFFILIATE, "Pending", C.PENDING),
    (P.AFFILIATE, "Pixel Tracked", C.PENDING),
    (P.AFFILIATE, "Processing", C.PENDING),
    (P.AFFILIATE, "Sale", C.CONFIRMED),
    (P.AFFILIATE, "Refund", C.REFUNDED),
    (P.AFFILIATE, "Satisfaction Refund", C.REFUNDED),
    (P.AFFILIATE, "Chargeback", C.CHARGEBACK),
    (P.AFFILIATE, "Suppression", C.SUPPRESSED),
    (P.AFFILIATE, "Duplicate", C.DUPLICATE),
    (P.ORDERS_API, "Created", C.PENDING),
    (P.ORDERS_API, "Paid", C.CONFIRMED),
    (P.ORDERS_API, "Fulfilled", C.FULFILLED),
    (P.ORDERS_API, "Cancelled", C.CANCELLED),
    (P.ORDERS_API, "Canceled", C.CANCELLED),
    (P.CRM, "Open", C.PENDING),
    (P.CRM, "Completed", C.CONFIRMED),
    (P.CRM, "Declined", C.DECLINED),
    (P.CRM, "Refund", C.REFUNDED),
    (P.STORE, "Received", C.PENDING),
    (P.STORE, "Pending payment", C.PENDING),
    (P.STORE, "Accepted", C.PENDING),  # the §2 correction: accepted, not yet charged
    (P.STORE, "Completed", C.CONFIRMED),
    (P.STORE, "Canceled", C.CANCELLED),
    (P.STORE, "Cancelled", C.CANCELLED),
    (P.STORE, "Declined", C.DECLINED),
    (P.STORE, "Expired", C.EXPIRED),
]


@pytest.mark.parametrize(("profile", "status", "category"), CONTRACT_TABLE)
def test_every_contract_entry_maps_to_its_category(
    profile: StatusProfile, status: str, category: Category
) -> None:
    assert categorise(profile, {}, status) is category


@pytest.mark.parametrize("profile", list(StatusProfile))
def test_profiles_know_no_status_beyond_the_contract(profile: StatusProfile) -> None:
    expected = {normalise_status(status) for p, status, _ in CONTRACT_TABLE if p is profile}

    assert set(PROFILES[profile]) == expected


@pytest.mark.parametrize(
    "written",
    [
        "Pending payment",
        "  pending_PAYMENT ",
        "pending-payment",
        "PENDING  PAYMENT",
        "pending_-payment",
    ],
)
def test_matching_ignores_case_spaces_and_separators(written: str) -> None:
    assert categorise(StatusProfile.STORE, {}, written) is Category.PENDING


def test_ok_is_the_only_confirmed_status_of_loyalty() -> None:
    confirmed = [
        s for s, category in PROFILES[StatusProfile.LOYALTY].items() if category is C.CONFIRMED
    ]

    assert confirmed == ["ok"]
    assert categorise(StatusProfile.LOYALTY, {}, "Paid") is None
    assert categorise(StatusProfile.LOYALTY, {}, "Sale") is None


@pytest.mark.parametrize(
    ("profile", "status"),
    [(P.LOYALTY, "Shipped"), (P.AFFILIATE, "Fulfilled"), (P.CRM, "Accepted"), (P.STORE, "")],
)
def test_unknown_status_has_no_category(profile: StatusProfile, status: str) -> None:
    assert categorise(profile, {}, status) is None


def test_override_adds_a_status_the_profile_does_not_know() -> None:
    overrides = {"Shipped": Category.FULFILLED}

    assert categorise(StatusProfile.LOYALTY, overrides, "shipped") is Category.FULFILLED


def test_override_wins_over_the_profile_whatever_its_spelling() -> None:
    overrides = {"awaiting-CHEQUE": Category.CONFIRMED}

    assert categorise(StatusProfile.LOYALTY, overrides, " Awaiting cheque ") is Category.CONFIRMED
    assert categorise(StatusProfile.LOYALTY, overrides, "Awaiting payment") is Category.PENDING


def test_overrides_of_one_tenant_do_not_change_the_profile() -> None:
    categorise(StatusProfile.CRM, {"Open": Category.CONFIRMED}, "Open")

    assert categorise(StatusProfile.CRM, {}, "Open") is Category.PENDING


@pytest.mark.parametrize("status", ["Pending payment", " pending_payment", "PENDING-PAYMENT"])
def test_pending_payment_starts_the_expiry_timer(status: str) -> None:
    assert starts_payment_expiry(status)


@pytest.mark.parametrize("status", ["Pending", "Received", "Awaiting payment", "Accepted", ""])
def test_other_statuses_do_not_start_the_expiry_timer(status: str) -> None:
    assert not starts_payment_expiry(status)
