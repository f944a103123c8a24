"""Tenant configuration (CONTRACTS §6): loading, checking, substitution and authentication."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from orderflow.shared.tenants import (
    TenantConfig,
    TenantConfigError,
    UnknownTenant,
    load_tenants,
    parse_duration,
)
from orderflow.shared.vocabulary import Category, StatusProfile

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "tenants"
EXAMPLE_VARIABLES = sorted(
    set(re.findall(r"\$\{(\w+)\}", "".join(p.read_text() for p in EXAMPLES.glob("*.yaml"))))
)
EXAMPLE_ENV = {name: f"{name.lower()}-test-value-0123456789" for name in EXAMPLE_VARIABLES}

ACME_KEY = "acme-key-0123456789abcdef"
MINIMAL = f'tenant: acme\napi_keys: ["{ACME_KEY}"]\n'


def write(directory: Path, filename: str, text: str) -> Path:
    path = directory / filename
    path.write_text(text, encoding="utf-8")
    return path


def load_error(directory: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(TenantConfigError) as caught:
        load_tenants(directory, env or {})
    return str(caught.value)


def load_one(directory: Path, text: str, env: dict[str, str] | None = None) -> TenantConfig:
    write(directory, "acme.yaml", text)
    return load_tenants(directory, env or {}).get("acme")


# --- the example tenants -------------------------------------------------------------------


def test_example_tenants_load_with_one_tenant_per_profile() -> None:
    registry = load_tenants(EXAMPLES, EXAMPLE_ENV)

    profiles = {name: registry.get(name).status_profile for name in registry.tenants()}
    assert profiles == {
        "demo-loyalty": StatusProfile.LOYALTY,
        "demo-affiliate": StatusProfile.AFFILIATE,
        "demo-orders": StatusProfile.ORDERS_API,
        "demo-crm": StatusProfile.CRM,
        "demo-store": StatusProfile.STORE,
    }


def test_every_example_tenant_has_challenges_commission_and_notification_rules() -> None:
    registry = load_tenants(EXAMPLES, EXAMPLE_ENV)

    for name in registry.tenants():
        config = registry.get(name)
        assert config.challenges and config.notifications.rules, name
        assert config.api_keys, name


def test_example_crm_sales_key_can_confirm_sales_and_close_orders() -> None:
    registry = load_tenants(EXAMPLES, EXAMPLE_ENV)

    found = registry.authenticate(EXAMPLE_ENV["DEMO_CRM_SALES_KEY"])

    assert found is not None
    assert found[0].tenant == "demo-crm"
    assert found[1] == frozenset({"orders:write", "sales:confirm", "orders:manage"})


def test_readme_lists_exactly_the_variables_the_examples_need() -> None:
    readme = (EXAMPLES / "README.md").read_text()
    listed = set(re.findall(r"^\| `(\w+)` \|", readme, flags=re.MULTILINE))

    assert listed == set(EXAMPLE_VARIABLES)


def test_examples_refuse_to_load_without_their_secrets() -> None:
    message = load_error(EXAMPLES, {})

    assert "demo-crm.yaml: api_keys[1].key: environment variable DEMO_CRM_SALES_KEY is not set" in (
        message
    )


# --- ${NAME} substitution ------------------------------------------------------------------


def test_variables_are_substituted_inside_strings(tmp_path: Path) -> None:
    config = load_one(
        tmp_path,
        "tenant: acme\n"
        'api_keys: ["${KEY}"]\n'
        'notifications: {webhook: {url: "https://${HOST}/hook", secret: "${SECRET}"}}\n',
        {"KEY": ACME_KEY, "HOST": "hooks.acme.test", "SECRET": "s3cret"},
    )

    assert config.api_keys[0].key.get_secret_value() == ACME_KEY
    assert config.notifications.webhook is not None
    assert config.notifications.webhook.url == "https://hooks.acme.test/hook"
    assert config.notifications.webhook.secret.get_secret_value() == "s3cret"


def test_missing_variable_names_file_field_and_variable(tmp_path: Path) -> None:
    write(tmp_path, "acme.yaml", 'tenant: acme\nwebhook_secrets: {stripe: "${ACME_STRIPE}"}\n')

    message = load_error(tmp_path)

    assert (
        "acme.yaml: webhook_secrets.stripe: environment variable ACME_STRIPE is not set" in message
    )


def test_malformed_variable_reference_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "acme.yaml", 'tenant: acme\nwebhook_secrets: {stripe: "${not a name}"}\n')

    assert "webhook_secrets.stripe: ${not a name} is not a valid" in load_error(tmp_path)


# --- every problem names the file, the field path and the reason ---------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            MINIMAL + "challenges:\n"
            "  - {id: a, when: {}, reward: {points: 1}}\n"
            "  - {id: b, when: {}, reward: {points: -5}}\n",
            "acme.yaml: challenges[1].reward.points: Input should be greater than or equal to 0",
        ),
        (
            MINIMAL + "challenges:\n"
            "  - {id: a, when: {}, reward: {points: 1}}\n"
            "  - {id: a, when: {}, reward: {points: 2}}\n",
            "acme.yaml: challenges[1].id: challenge id 'a' is used twice",
        ),
        (MINIMAL + "status_profil: store\n", "acme.yaml: status_profil: Extra inputs are not"),
        (MINIMAL + "status_profile: shop\n", "acme.yaml: status_profile: Input should be"),
        (MINIMAL + "status_overrides: {Shipped: sent}\n", "acme.yaml: status_overrides.Shipped:"),
        (
            MINIMAL + "status_overrides: {Shipped: fulfilled, shipped: cancelled}\n",
            "acme.yaml: status_overrides.shipped: matches the same statuses as 'Shipped'",
        ),
        (
            MINIMAL + "commission: {percent: 10.5}\n",
            "acme.yaml: commission.percent: write decimals as quoted strings",
        ),
        (
            MINIMAL + 'commission: {per_offer: {offer-9: {percent: "150"}}}\n',
            "acme.yaml: commission.per_offer.offer-9.percent: Input should be less than or equal",
        ),
        (
            MINIMAL + "commission: {per_offer: {offer-9: {}}}\n",
            "acme.yaml: commission.per_offer.offer-9: set percent or fixed",
        ),
        (MINIMAL + "expiry: {pending_payment: 7w}\n", "acme.yaml: expiry.pending_payment: '7w'"),
        (MINIMAL + "attribution: {lookback_days: 0}\n", "acme.yaml: attribution.lookback_days:"),
        (
            MINIMAL + "notifications: {rules: [{on: order.confirmed, to: [customer], "
            "channels: [email]}]}\n",
            "acme.yaml: notifications.rules[0].channels: channel email needs notifications.email",
        ),
        (
            MINIMAL + "notifications: {rules: [{on: order.shipped, to: [customer], "
            "channels: [in_app]}]}\n",
            "acme.yaml: notifications.rules[0].on: Input should be",
        ),
        (
            "tenant: acme\napi_keys: [{key: acme-key-0123456789abcdef, scopes: [orders:delete]}]\n",
            "acme.yaml: api_keys[0].scopes: unknown scope(s) ['orders:delete']",
        ),
        ("tenant: acme\napi_keys: [short]\n", "acme.yaml: api_keys[0].key: an API key must have"),
        (
            f"tenant: acme\napi_keys: [{ACME_KEY}, {ACME_KEY}]\n",
            "acme.yaml: api_keys[1].key: the same API key is listed twice",
        ),
        ("tenant: other\n", "acme.yaml: tenant: must equal the file name 'acme'"),
        ("status_profile: store\n", "acme.yaml: tenant: Field required"),
        ("- tenant: acme\n", "acme.yaml: (top level): must be a mapping"),
        ("tenant: acme\nlanguage: [en\n", "acme.yaml: line 3, column 1: YAML does not parse"),
        ("tenant: acme\ntenant: acme\n", "acme.yaml: line 2, column 1: YAML does not parse: key"),
    ],
)
def test_invalid_file_is_rejected_naming_file_field_and_reason(
    tmp_path: Path, text: str, expected: str
) -> None:
    write(tmp_path, "acme.yaml", text)

    assert expected in load_error(tmp_path)


def test_invalid_tenant_name_is_rejected(tmp_path: Path) -> None:
    write(tmp_path, "Acme.yaml", "tenant: Acme\n")

    assert "Acme.yaml: tenant: must be 1-64 of a-z, 0-9 and '-'" in load_error(tmp_path)


def test_two_files_for_one_tenant_are_rejected(tmp_path: Path) -> None:
    write(tmp_path, "acme.yaml", "tenant: acme\n")
    write(tmp_path, "acme.yml", "tenant: acme\n")

    message = load_error(tmp_path)

    assert "acme.yml: tenant: tenant 'acme' is already configured in" in message
    assert "acme.yaml" in message.split("acme.yml: ")[1]


def test_an_api_key_shared_by_two_tenants_is_rejected(tmp_path: Path) -> None:
    write(tmp_path, "acme.yaml", MINIMAL)
    write(
        tmp_path, "zeta.yaml", f"tenant: zeta\napi_keys: [zeta-key-0123456789abcdef, {ACME_KEY}]\n"
    )

    message = load_error(tmp_path)

    assert "zeta.yaml: api_keys[1].key: the same API key is used by tenant 'acme'" in message
    assert ACME_KEY not in message


def test_every_bad_file_is_reported_at_once(tmp_path: Path) -> None:
    write(tmp_path, "acme.yaml", "tenant: acme\nlanguage: 7\n")
    write(tmp_path, "zeta.yaml", "tenant: zeta\nattribution: {lookback_days: -1}\n")

    message = load_error(tmp_path)

    assert "acme.yaml: language:" in message
    assert "zeta.yaml: attribution.lookback_days:" in message


def test_empty_directory_is_rejected(tmp_path: Path) -> None:
    write(tmp_path, "notes.txt", "tenant: acme\n")

    assert f"{tmp_path}: (directory): no tenant files" in load_error(tmp_path)


def test_missing_directory_is_rejected(tmp_path: Path) -> None:
    assert "nowhere: (directory): is not a directory" in load_error(tmp_path / "nowhere")


# --- what a valid file means ---------------------------------------------------------------


def test_defaults_follow_the_contract(tmp_path: Path) -> None:
    config = load_one(tmp_path, "tenant: acme\n")

    assert config.status_profile is StatusProfile.LOYALTY
    assert config.language == "en"
    assert config.attribution.lookback_days == 30
    assert config.commission.percent == Decimal(0)
    assert config.commission.holding_days == 30
    assert config.commission.reverse_on == {Category.REFUNDED, Category.CHARGEBACK}


def test_plain_api_key_gets_the_write_scopes_and_orders_read(tmp_path: Path) -> None:
    config = load_one(tmp_path, MINIMAL)

    # CONTRACTS Part 2's preamble.
    assert config.api_keys[0].scopes == {
        "orders:write",
        "touchpoints:write",
        "payments:write",
        "orders:read",
    }


def test_money_is_decimal_exactly_as_written(tmp_path: Path) -> None:
    config = load_one(
        tmp_path,
        'tenant: acme\ncommission: {percent: "10.1", per_offer: {offer-9: {fixed: "0.10"}}}\n'
        'challenges: [{id: big, when: {min_amount: "200.00"}, reward: {points: 5}}]\n',
    )

    assert config.commission.percent == Decimal("10.1")
    assert str(config.commission.per_offer["offer-9"].fixed) == "0.10"
    assert str(config.challenges[0].when.min_amount) == "200.00"


def test_yaml_1_1_booleans_stay_strings(tmp_path: Path) -> None:
    # `on:` is a rule key and `no` is Norwegian; YAML 1.1 would read both as booleans.
    config = load_one(
        tmp_path,
        "tenant: acme\nlanguage: no\n"
        "notifications: {rules: [{on: reward.granted, to: [member], channels: [in_app]}]}\n",
    )

    assert config.language == "no"
    assert config.notifications.rules[0].on == "reward.granted"


def test_notification_sender_is_read_from_the_from_key(tmp_path: Path) -> None:
    config = load_one(tmp_path, 'tenant: acme\nnotifications: {email: {from: "o@acme.test"}}\n')

    assert config.notifications.email is not None
    assert config.notifications.email.sender == "o@acme.test"


@pytest.mark.parametrize(
    ("profile", "written", "expected"),
    [
        ("store", None, timedelta(days=7)),
        ("store", "90m", timedelta(minutes=90)),
        ("loyalty", None, None),
        ("loyalty", "2d", timedelta(days=2)),
    ],
)
def test_pending_payment_expiry_defaults_to_a_week_for_the_store_profile(
    profile: str, written: str | None, expected: timedelta | None
) -> None:
    document: dict[str, object] = {"tenant": "acme", "status_profile": profile}
    if written is not None:
        document["expiry"] = {"pending_payment": written}

    assert TenantConfig.model_validate(document).pending_payment_expiry() == expected


# --- durations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7d", timedelta(days=7)),
        ("90m", timedelta(minutes=90)),
        ("5s", timedelta(seconds=5)),
        ("36h", timedelta(hours=36)),
        (" 1d ", timedelta(days=1)),
    ],
)
def test_duration_parses(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d", "7w", "-1d", "1.5h", "7 d", "d7", "٣d"])
def test_malformed_duration_is_rejected_with_the_expected_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not a duration <n><unit> with unit s, m, h or d"):
        parse_duration(text)


def test_zero_duration_is_rejected() -> None:
    with pytest.raises(ValueError, match="must be greater than zero"):
        parse_duration("0s")


def test_overlong_duration_is_rejected() -> None:
    with pytest.raises(ValueError, match="too large"):
        parse_duration("99999999999d")


# --- the registry --------------------------------------------------------------------------


def two_tenants(directory: Path) -> None:
    write(directory, "acme.yaml", MINIMAL)
    write(
        directory,
        "zeta.yaml",
        "tenant: zeta\napi_keys: [{key: zeta-key-0123456789abcdef, scopes: [orders:write]}]\n",
    )


def test_authenticate_returns_the_keys_tenant_and_scopes(tmp_path: Path) -> None:
    two_tenants(tmp_path)
    registry = load_tenants(tmp_path, {})

    acme = registry.authenticate(ACME_KEY)
    zeta = registry.authenticate("zeta-key-0123456789abcdef")

    assert acme is not None and acme[0].tenant == "acme"
    assert acme[1] == {"orders:write", "touchpoints:write", "payments:write", "orders:read"}
    assert zeta is not None and zeta[0].tenant == "zeta"
    assert zeta[1] == {"orders:write"}


@pytest.mark.parametrize("presented", ["", "acme-key", ACME_KEY + "x", ACME_KEY.upper()])
def test_authenticate_refuses_a_wrong_key(tmp_path: Path, presented: str) -> None:
    two_tenants(tmp_path)

    assert load_tenants(tmp_path, {}).authenticate(presented) is None


def test_registry_lists_and_finds_tenants(tmp_path: Path) -> None:
    two_tenants(tmp_path)
    registry = load_tenants(tmp_path, {})

    assert registry.tenants() == ["acme", "zeta"]
    assert "acme" in registry
    assert "nobody" not in registry
    assert registry.get("zeta").tenant == "zeta"


def test_unknown_tenant_is_a_key_error_naming_it(tmp_path: Path) -> None:
    two_tenants(tmp_path)

    with pytest.raises(KeyError) as caught:
        load_tenants(tmp_path, {}).get("nobody")

    assert isinstance(caught.value, UnknownTenant)
    assert str(caught.value) == "unknown tenant 'nobody'"


# --- secrets stay secret -------------------------------------------------------------------


def test_secrets_do_not_appear_in_repr(tmp_path: Path) -> None:
    config = load_one(
        tmp_path,
        MINIMAL + "webhook_secrets: {shopify: shopify-secret-value}\n"
        "notifications: {webhook: {url: https://h.test, secret: hook-secret-value}}\n",
    )
    registry = load_tenants(tmp_path, {})

    for text in (repr(config), str(config), repr(registry), config.model_dump_json()):
        assert ACME_KEY not in text
        assert "shopify-secret-value" not in text
        assert "hook-secret-value" not in text


def test_a_rejected_secret_is_not_echoed_in_the_error(tmp_path: Path) -> None:
    write(tmp_path, "acme.yaml", 'tenant: acme\napi_keys: ["${KEY}"]\n')

    message = load_error(tmp_path, {"KEY": "tooshort-secret"})

    assert "api_keys[0].key" in message
    assert "tooshort-secret" not in message


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("attribution: {lookback_days: 999999999}\n", "attribution.lookback_days"),
        ("commission: {percent: '10', holding_days: 999999999}\n", "commission.holding_days"),
        ("expiry: {pending_payment: 99999d}\n", "expiry.pending_payment"),
    ],
)
def test_periods_beyond_ten_years_are_refused_so_date_arithmetic_cannot_overflow(
    tmp_path: Path, extra: str, field: str
) -> None:
    write(tmp_path, "acme.yaml", MINIMAL + extra)
    assert f"acme.yaml: {field}:" in load_error(tmp_path)
