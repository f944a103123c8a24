"""The building blocks of tenant files: durations, money, secrets, strict models, errors.

Shared by shared/tenants.py and the sub-models kept beside it (shared/tenant_segments.py), so
a duration or an amount is read and refused the same way in every part of the file.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

_DURATION_RE = re.compile(r"([0-9]+)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """`<n><unit>` with unit s, m, h or d (`7d`, `90m`, `5s`); n must be positive."""
    match = _DURATION_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a duration <n><unit> with unit s, m, h or d (e.g. 7d)")
    amount = int(match[1])
    if amount == 0:
        raise ValueError(f"duration {text!r} must be greater than zero")
    try:
        return timedelta(seconds=amount * _UNIT_SECONDS[match[2]])
    except OverflowError:
        raise ValueError(f"duration {text!r} is too large") from None


def _duration(value: object) -> object:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError("a duration is written <n><unit> with unit s, m, h or d (e.g. 7d)")
    return parse_duration(value)


def _no_float(value: object) -> object:
    # A YAML float has already lost exactness; money must be written as a quoted string.
    if isinstance(value, float):
        raise ValueError(f'write decimals as quoted strings (e.g. "{value}"), never as floats')
    return value


def _non_empty_secret(secret: SecretStr) -> SecretStr:
    if not secret.get_secret_value():
        raise ValueError("a secret must not be empty")
    return secret


# Tenant periods stay inside what date arithmetic on accepted instants can add (ten years).
MAX_DAYS = 3660
Duration = Annotated[timedelta, BeforeValidator(_duration), Field(le=timedelta(days=MAX_DAYS))]
Money = Annotated[Decimal, BeforeValidator(_no_float), Field(ge=0, allow_inf_nan=False)]
Percent = Annotated[Money, Field(le=100)]
Secret = Annotated[SecretStr, AfterValidator(_non_empty_secret)]
Name = Annotated[str, Field(min_length=1)]
Names = Annotated[tuple[Name, ...], Field(min_length=1)]


def fail_at(loc: tuple[str | int, ...], reason: str) -> ValidationError:
    """A validation error at a path below the field being validated, so messages name it."""
    error = PydanticCustomError("tenant_rule", reason)
    return ValidationError.from_exception_data(
        "TenantConfig", [InitErrorDetails(type=error, loc=loc, input=None)]
    )


class Strict(BaseModel):
    # A misspelt key is an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid", frozen=True)
