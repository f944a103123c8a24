"""What `orderflow run` gives each service about the database: least privilege (issue 9 item 7)."""

from __future__ import annotations

import pytest

from orderflow.shared.cli import SERVICES, _service_env
from orderflow.shared.provision import password_env_var, without_credentials
from orderflow.shared.settings import DatabaseSettings

ADMIN_DSN = "postgresql://postgres:admin-secret@127.0.0.1:5433/orderflow"
PASSWORDS = {name: f"secret-of-{name}" for name in SERVICES}


def stack_env() -> dict[str, str]:
    """As `infrastructure()` yields it for the embedded stack."""
    env = {"DATABASE_URL": ADMIN_DSN, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092"}
    return env | {password_env_var(name): p for name, p in PASSWORDS.items()}


@pytest.mark.parametrize("name", list(SERVICES))
def test_a_service_gets_its_own_password_and_no_admin_login(name: str) -> None:
    env = _service_env(stack_env(), name, 8080)
    assert env["DATABASE_URL"] == "postgresql://127.0.0.1:5433/orderflow"
    assert env["ORDERFLOW_DB_PASSWORD"] == PASSWORDS[name]
    others = {p for other, p in PASSWORDS.items() if other != name}
    assert not others & set(env.values()), "another role's password"
    assert "admin-secret" not in "".join(env.values())


def test_a_service_logs_in_as_its_role_with_what_it_is_given() -> None:
    env = _service_env(stack_env(), "rewards", 8084)
    settings = DatabaseSettings.model_validate(env)
    dsn = settings.dsn_for_role("orderflow_rewards")
    assert dsn == "postgresql://orderflow_rewards:secret-of-rewards@127.0.0.1:5433/orderflow"


def test_role_passwords_in_the_callers_environment_are_blanked_for_the_child(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The supervisor lays `env` over its own environment, so these must be overridden.
    monkeypatch.setenv(password_env_var("ingest"), "from-the-shell")
    monkeypatch.setenv(password_env_var("rewards"), "rewards-from-the-shell")
    env = _service_env({"DATABASE_URL": ADMIN_DSN}, "ingest", 8080)
    assert env["ORDERFLOW_DB_PASSWORD"] == "from-the-shell"
    assert env[password_env_var("rewards")] == ""
    assert env[password_env_var("ingest")] == ""


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        (ADMIN_DSN, "postgresql://127.0.0.1:5433/orderflow"),
        ("postgresql://admin@db/x?sslmode=require", "postgresql://db/x?sslmode=require"),
        ("postgresql://a:p%40ss@[::1]:5432/x", "postgresql://[::1]:5432/x"),
        ("postgresql://db:5432/x", "postgresql://db:5432/x"),
    ],
)
def test_without_credentials_keeps_server_database_and_options(dsn: str, expected: str) -> None:
    assert without_credentials(dsn) == expected
