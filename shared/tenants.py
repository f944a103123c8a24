"""Tenant configuration (CONTRACTS §6): the models of one tenant's YAML file and the registry.

Mechanism only: this module reads, checks and serves configuration and authenticates API
keys; what a status or a challenge *means* belongs to the services. Loading files lives in
`load_tenants` at the end.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from yaml.error import MarkedYAMLError

from orderflow.shared.tenant_segments import Segment, ValidationRule
from orderflow.shared.tenant_tracking import Tracking
from orderflow.shared.tenant_types import MAX_DAYS as MAX_DAYS  # re-exported
from orderflow.shared.tenant_types import Duration, Name, Names, Percent, Secret
from orderflow.shared.tenant_types import Money as Money  # re-exported
from orderflow.shared.tenant_types import Strict as _Model
from orderflow.shared.tenant_types import fail_at as _fail
from orderflow.shared.tenant_types import parse_duration as parse_duration
from orderflow.shared.vocabulary import TENANT_RE, Category, StatusProfile, normalise_status

# CONTRACTS Part 2's preamble: a plain-string key may write reports, touchpoints and
# payments and read everything of its tenant; a key written {key, scopes} has only those.
DEFAULT_SCOPES = frozenset({"orders:write", "touchpoints:write", "payments:write", "orders:read"})
KNOWN_SCOPES = DEFAULT_SCOPES | {"sales:confirm", "orders:manage", "recurring:manage"}
MIN_API_KEY_LENGTH = 16
STORE_PENDING_PAYMENT_EXPIRY = timedelta(days=7)

EventType = Literal[
    "order.status_changed", "order.confirmed", "order.reversed", "order.expired",
    "order.attributed", "order.attribution_voided", "reward.granted",
    "commission.accrued", "commission.reversed", "commission.approved",
    "recurring_order.status_changed", "recurring.charge_due",
]  # fmt: skip


class ApiKey(_Model):
    key: SecretStr
    scopes: frozenset[str] = DEFAULT_SCOPES

    @field_validator("key")
    @classmethod
    def _long_enough(cls, key: SecretStr) -> SecretStr:
        if len(key.get_secret_value()) < MIN_API_KEY_LENGTH:
            raise ValueError(f"an API key must have at least {MIN_API_KEY_LENGTH} characters")
        return key

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, scopes: frozenset[str]) -> frozenset[str]:
        if not scopes:
            raise ValueError("at least one scope is needed")
        if unknown := scopes - KNOWN_SCOPES:
            raise ValueError(f"unknown scope(s) {sorted(unknown)}; known: {sorted(KNOWN_SCOPES)}")
        return scopes


class WebhookSecrets(_Model):
    shopify: Secret | None = None
    stripe: Secret | None = None
    woocommerce: Secret | None = None


class Attribution(_Model):
    lookback_days: int = Field(30, ge=1, le=MAX_DAYS)


class Expiry(_Model):
    pending_payment: Duration | None = None


class Recurring(_Model):
    """CONTRACTS §10: the waits before the retries of a failed charge (at most two, so an
    attempt is 1 to 3), and how soon after `activate` a charge held by a pause is published."""

    retry_intervals: Annotated[tuple[Duration, ...], Field(max_length=2)] = (
        timedelta(days=1),
        timedelta(days=3),
    )
    resume_within: Duration = timedelta(minutes=10)


class OrdersInDays(_Model):
    count: int = Field(ge=1)
    days: int = Field(ge=1, le=MAX_DAYS)


class ChallengeWhen(_Model):
    first_order_of_member: bool = False
    min_amount: Money | None = None
    orders_in_days: OrdersInDays | None = None
    offer_in: Names | None = None
    category_in: Names | None = None
    segment_in: Names | None = None  # the order's customer's segments (CONTRACTS §11)


class Reward(_Model):
    points: int = Field(ge=0)
    badge: Name | None = None


class Challenge(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    when: ChallengeWhen
    reward: Reward


class OfferCommission(_Model):
    percent: Percent | None = None
    fixed: Money | None = None

    @model_validator(mode="after")
    def _sets_something(self) -> OfferCommission:
        if self.percent is None and self.fixed is None:
            raise ValueError("set percent or fixed")
        return self


class Commission(_Model):
    percent: Percent = Decimal(0)
    fixed: Money = Decimal(0)
    per_offer: dict[Name, OfferCommission] = Field(default_factory=dict)
    holding_days: int = Field(30, ge=0, le=MAX_DAYS)
    reverse_on: frozenset[Category] = frozenset({Category.REFUNDED, Category.CHARGEBACK})


EmailAddress = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]


class EmailChannel(_Model):
    sender: EmailAddress = Field(alias="from")
    # Additions to CONTRACTS §6 (optional): where merchant and member e-mails go. Without
    # `merchant` the merchant is written to at `from`; a member without an address gets
    # no e-mail (in_app and webhook still reach them).
    merchant: EmailAddress | None = None
    members: dict[Name, EmailAddress] = Field(default_factory=dict)


class WebhookChannel(_Model):
    url: str = Field(pattern=r"^https?://\S+$")
    secret: Secret
    # A URL that resolves to loopback, private or link-local addresses is refused unless the
    # tenant says so (local development, a receiver inside the cluster).
    allow_private_network: bool = False


class RuleWhen(_Model):
    """Addition to CONTRACTS §6: the rule holds only for events whose `data.status` is one of
    these, written exactly (`recurring_order.status_changed` when `failed`)."""

    status: Names


class NotificationRule(_Model):
    on: EventType
    when: RuleWhen | None = None
    to: Annotated[frozenset[Literal["customer", "merchant", "member"]], Field(min_length=1)]
    channels: Annotated[frozenset[Literal["email", "webhook", "in_app"]], Field(min_length=1)]


class Notifications(_Model):
    email: EmailChannel | None = None
    webhook: WebhookChannel | None = None
    rules: tuple[NotificationRule, ...] = ()

    @model_validator(mode="after")
    def _channels_configured(self) -> Notifications:
        for index, rule in enumerate(self.rules):
            for channel in ("email", "webhook"):
                if channel in rule.channels and getattr(self, channel) is None:
                    reason = f"channel {channel} needs notifications.{channel} to be configured"
                    raise _fail(("rules", index, "channels"), reason)
        return self


class Import(_Model):
    """The FTP drop (CONTRACTS §12): the tenant logs in with its id and this password."""

    ftp_password: Secret | None = None


class TenantConfig(_Model):
    tenant: str
    status_profile: StatusProfile = StatusProfile.LOYALTY
    status_overrides: dict[str, Category] = Field(default_factory=dict)
    language: str = Field("en", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    api_keys: tuple[ApiKey, ...] = ()
    webhook_secrets: WebhookSecrets = WebhookSecrets()
    attribution: Attribution = Attribution()
    expiry: Expiry = Expiry()
    challenges: tuple[Challenge, ...] = ()
    commission: Commission = Commission()
    notifications: Notifications = Notifications()
    # CONTRACTS §8: None means the profile's default (see `confirms_on_payment`).
    confirm_on_payment: bool | None = None
    recurring: Recurring = Recurring()
    segments: tuple[Segment, ...] = ()  # CONTRACTS §11, shared/tenant_segments.py
    validation_rules: tuple[ValidationRule, ...] = ()
    import_: Import = Field(Import(), alias="import")  # `import` is a Python keyword
    tracking: Tracking | None = None  # CONTRACTS §13, shared/tenant_tracking.py

    @field_validator("tenant")
    @classmethod
    def _tenant_name(cls, tenant: str) -> str:
        if not TENANT_RE.fullmatch(tenant):
            raise ValueError("must be 1-64 of a-z, 0-9 and '-', not starting with '-'")
        return tenant

    @field_validator("status_overrides")
    @classmethod
    def _overrides_distinct(cls, overrides: dict[str, Category]) -> dict[str, Category]:
        seen: dict[str, str] = {}
        for status in overrides:
            if (earlier := seen.setdefault(normalise_status(status), status)) != status:
                raise _fail((status,), f"matches the same statuses as {earlier!r}")
        return overrides

    @field_validator("api_keys", mode="before")
    @classmethod
    def _plain_keys(cls, keys: object) -> object:
        # A plain string is shorthand for a key with the default scopes.
        if isinstance(keys, list | tuple):
            return [{"key": key} if isinstance(key, str) else key for key in keys]
        return keys

    @field_validator("api_keys")
    @classmethod
    def _keys_distinct(cls, keys: tuple[ApiKey, ...]) -> tuple[ApiKey, ...]:
        secrets = [key.key.get_secret_value() for key in keys]
        for index, secret in enumerate(secrets):
            if secret in secrets[:index]:
                raise _fail((index, "key"), "the same API key is listed twice")
        return keys

    @field_validator("challenges")
    @classmethod
    def _challenge_ids_distinct(cls, challenges: tuple[Challenge, ...]) -> tuple[Challenge, ...]:
        ids = [challenge.id for challenge in challenges]
        for index, challenge_id in enumerate(ids):
            if challenge_id in ids[:index]:
                raise _fail((index, "id"), f"challenge id {challenge_id!r} is used twice")
        return challenges

    @field_validator("segments", "validation_rules")
    @classmethod
    def _ids_distinct(cls, items: tuple[Segment | ValidationRule, ...]) -> tuple[Any, ...]:
        ids = [item.id for item in items]
        for index, item_id in enumerate(ids):
            if item_id in ids[:index]:
                raise _fail((index, "id"), f"id {item_id!r} is used twice")
        return items

    @model_validator(mode="after")
    def _segments_known(self) -> TenantConfig:
        known = {segment.id for segment in self.segments}
        for index, rule in enumerate(self.validation_rules):
            if unknown := rule.segments_named() - known:
                reason = f"unknown segment(s) {sorted(unknown)}; segments: {sorted(known)}"
                raise _fail(("validation_rules", index, "customer"), reason)
        for index, challenge in enumerate(self.challenges):
            if unknown := set(challenge.when.segment_in or ()) - known:
                reason = f"unknown segment(s) {sorted(unknown)}; segments: {sorted(known)}"
                raise _fail(("challenges", index, "when", "segment_in"), reason)
        return self

    def pending_payment_expiry(self) -> timedelta | None:
        """How long a pending-payment order may wait; the store profile defaults to 7 days."""
        if self.expiry.pending_payment is not None:
            return self.expiry.pending_payment
        return STORE_PENDING_PAYMENT_EXPIRY if self.status_profile is StatusProfile.STORE else None

    def confirms_on_payment(self) -> bool:
        """Whether succeeded payments covering the amount confirm an order (CONTRACTS §8):
        as set, else true for the store and crm profiles."""
        if self.confirm_on_payment is not None:
            return self.confirm_on_payment
        return self.status_profile in (StatusProfile.STORE, StatusProfile.CRM)


class UnknownTenant(KeyError):
    def __init__(self, tenant: str) -> None:
        super().__init__(tenant)
        self.tenant = tenant

    def __str__(self) -> str:
        return f"unknown tenant {self.tenant!r}"


def _key_digest(secret: bytes) -> bytes:
    return hashlib.sha256(secret).digest()


class TenantRegistry:
    """Every tenant's configuration, and which tenant an API key belongs to."""

    def __init__(self, configs: Iterable[TenantConfig]) -> None:
        self._by_tenant: dict[str, TenantConfig] = {}
        self._by_key: dict[bytes, tuple[bytes, TenantConfig, frozenset[str]]] = {}
        for config in configs:
            if config.tenant in self._by_tenant:
                raise ValueError(f"tenant {config.tenant!r} is configured twice")
            self._by_tenant[config.tenant] = config
            for api_key in config.api_keys:
                secret = api_key.key.get_secret_value().encode()
                if _key_digest(secret) in self._by_key:
                    raise ValueError(f"tenant {config.tenant!r} uses an API key of another tenant")
                self._by_key[_key_digest(secret)] = (secret, config, api_key.scopes)
        for config in self._by_tenant.values():
            # Public in a web page: were it also an API key, anyone could use that key.
            if (
                config.tracking
                and _key_digest(config.tracking.publishable_key.encode()) in self._by_key
            ):
                raise ValueError(
                    f"tenant {config.tenant!r}: tracking.publishable_key is an API key"
                )

    def get(self, tenant: str) -> TenantConfig:
        try:
            return self._by_tenant[tenant]
        except KeyError:
            raise UnknownTenant(tenant) from None

    def tenants(self) -> list[str]:
        return sorted(self._by_tenant)

    def authenticate(self, api_key: str) -> tuple[TenantConfig, frozenset[str]] | None:
        """The tenant and scopes of a presented key, or None when no tenant has it."""
        presented = api_key.encode()
        # Finding the candidate by digest reveals nothing usable about a stored key; the key
        # itself is then compared in constant time.
        candidate = self._by_key.get(_key_digest(presented))
        if candidate is None or not hmac.compare_digest(candidate[0], presented):
            return None
        return candidate[1], candidate[2]

    def __contains__(self, tenant: object) -> bool:
        return tenant in self._by_tenant

    def replace(self, other: TenantRegistry) -> None:
        """Take `other`'s tenants and keys (a reload, shared/tenant_reload.py) in one step,
        so every holder of this registry sees the new configuration."""
        self._by_tenant, self._by_key = other._by_tenant, other._by_key

    def __len__(self) -> int:
        return len(self._by_tenant)

    def __repr__(self) -> str:
        return f"TenantRegistry(tenants={self.tenants()!r})"


# --- Loading: YAML files -> ${NAME} substitution -> validation -> cross-tenant checks ---

_VARIABLE_RE = re.compile(r"\$\{([^}]*)\}")
_VARIABLE_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_YAML_BOOL = "tag:yaml.org,2002:bool"
Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class TenantProblem:
    file: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.reason}"


class TenantConfigError(Exception):
    """The tenant configuration cannot be used; the message lists every problem found."""

    def __init__(self, problems: Iterable[TenantProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(["invalid tenant configuration:", *map(str, self.problems)]))


class _YamlLoader(yaml.SafeLoader):
    """YAML 1.2 booleans (so `on:` and `no` stay strings) and no silently repeated keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        seen: set[Hashable] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise MarkedYAMLError(
                    problem=f"key {key!r} is repeated", problem_mark=key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _YAML_BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver(
    _YAML_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def format_path(loc: Loc) -> str:
    """`('challenges', 1, 'reward', 'points')` -> `challenges[1].reward.points`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "(top level)"


def _substitute(
    node: object, loc: Loc, env: Mapping[str, str], problems: list[tuple[Loc, str]]
) -> object:
    """Replace every `${NAME}` inside string values from `env`, before validation."""
    if isinstance(node, dict):
        return {key: _substitute(value, (*loc, key), env, problems) for key, value in node.items()}
    if isinstance(node, list):
        return [
            _substitute(value, (*loc, index), env, problems) for index, value in enumerate(node)
        ]
    if not isinstance(node, str):
        return node

    def lookup(match: re.Match[str]) -> str:
        name = match[1]
        if not _VARIABLE_NAME_RE.fullmatch(name):
            problems.append((loc, f"${{{name}}} is not a valid environment variable name"))
        elif name not in env:
            problems.append((loc, f"environment variable {name} is not set"))
        return env.get(name, "")

    return _VARIABLE_RE.sub(lookup, node)


def _validation_problems(error: ValidationError) -> list[tuple[Loc, str]]:
    problems = []
    for detail in error.errors(include_url=False, include_input=False):
        reason = detail["msg"].removeprefix("Value error, ")
        problems.append((tuple(detail["loc"]), reason))
    return problems


def _parse(text: str) -> tuple[object, list[tuple[Loc, str]]]:
    try:
        loader = _YamlLoader(text)
        try:
            return loader.get_single_data(), []
        finally:
            loader.dispose()
    except MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(yaml)"
        return None, [((where,), f"YAML does not parse: {error.problem}")]
    except yaml.YAMLError as error:
        return None, [(("(yaml)",), f"YAML does not parse: {error}")]


def _load_file(
    file: Path, env: Mapping[str, str]
) -> tuple[TenantConfig | None, list[tuple[Loc, str]]]:
    try:
        document, problems = _parse(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        return None, [((), f"cannot be read: {error}")]
    if problems:
        return None, problems
    if not isinstance(document, dict):
        return None, [((), "must be a mapping of settings (key: value)")]
    document = _substitute(document, (), env, problems)
    if problems:
        return None, problems
    try:
        config = TenantConfig.model_validate(document)
    except ValidationError as error:
        return None, _validation_problems(error)
    if config.tenant != file.stem:
        return None, [(("tenant",), f"must equal the file name {file.stem!r}")]
    return config, []


def _cross_tenant_problems(loaded: list[tuple[Path, TenantConfig]]) -> list[TenantProblem]:
    problems: list[TenantProblem] = []
    tenant_files: dict[str, Path] = {}
    key_owners: dict[bytes, tuple[str, Path]] = {}
    for file, config in loaded:
        if (first := tenant_files.setdefault(config.tenant, file)) != file:
            reason = f"tenant {config.tenant!r} is already configured in {first}"
            problems.append(TenantProblem(str(file), "tenant", reason))
            continue
        for index, api_key in enumerate(config.api_keys):
            digest = _key_digest(api_key.key.get_secret_value().encode())
            owner, owner_file = key_owners.setdefault(digest, (config.tenant, file))
            if owner != config.tenant:
                reason = f"the same API key is used by tenant {owner!r} ({owner_file})"
                problems.append(TenantProblem(str(file), f"api_keys[{index}].key", reason))
    for file, config in loaded:
        # Public in a web page (CONTRACTS §13): were it also an API key, anyone could use it.
        if config.tracking and _key_digest(config.tracking.publishable_key.encode()) in key_owners:
            reason = "is an API key; a publishable key must be a key of its own"
            problems.append(TenantProblem(str(file), "tracking.publishable_key", reason))
    return problems


def load_tenants(directory: str | Path, env: Mapping[str, str] | None = None) -> TenantRegistry:
    """Every `*.yaml`/`*.yml` tenant file of `directory`; raises TenantConfigError naming each
    problem's file, field path and reason. `env` defaults to the process environment."""
    directory = Path(directory)
    environment = os.environ if env is None else env
    files = (
        sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]) if directory.is_dir() else []
    )
    if not files:
        reason = "no tenant files (*.yaml, *.yml)" if directory.is_dir() else "is not a directory"
        raise TenantConfigError([TenantProblem(str(directory), "(directory)", reason)])
    problems: list[TenantProblem] = []
    loaded: list[tuple[Path, TenantConfig]] = []
    for file in files:
        config, file_problems = _load_file(file, environment)
        problems += [
            TenantProblem(str(file), format_path(loc), reason) for loc, reason in file_problems
        ]
        if config is not None:
            loaded.append((file, config))
    problems += _cross_tenant_problems(loaded)
    if problems:
        raise TenantConfigError(problems)
    return TenantRegistry(config for _, config in loaded)
