"""The tenant field `confirm_on_payment` (CONTRACTS §8): its default follows the profile."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from orderflow.shared.tenants import TenantConfig
from orderflow.shared.vocabulary import StatusProfile


@pytest.mark.parametrize(
    ("profile", "default"),
    [
        (StatusProfile.STORE, True),
        (StatusProfile.CRM, True),
        (StatusProfile.LOYALTY, False),
        (StatusProfile.AFFILIATE, False),
        (StatusProfile.ORDERS_API, False),
    ],
)
def test_default_follows_the_profile(profile: StatusProfile, default: bool) -> None:
    assert TenantConfig(tenant="t", status_profile=profile).confirms_on_payment() is default


@pytest.mark.parametrize("profile", list(StatusProfile))
@pytest.mark.parametrize("value", [True, False])
def test_an_explicit_value_wins(profile: StatusProfile, value: bool) -> None:
    config = TenantConfig(tenant="t", status_profile=profile, confirm_on_payment=value)
    assert config.confirms_on_payment() is value


def test_a_value_that_is_not_a_boolean_names_the_field() -> None:
    with pytest.raises(ValidationError, match="confirm_on_payment"):
        TenantConfig.model_validate({"tenant": "t", "confirm_on_payment": "maybe"})
