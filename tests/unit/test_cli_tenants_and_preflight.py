"""`orderflow tenants check` and what `orderflow run` refuses before it starts anything."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from orderflow.shared.cli_preflight import (
    PreflightError,
    check_tenants,
    demo_defaults,
    demo_value,
    taken_ports,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "tenants"
GOOD = 'tenant: acme\napi_keys: ["${ACME_KEY}"]\n'


def orderflow(
    *args: str, env: dict[str, str], cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from orderflow.shared.cli import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=cwd, timeout=60)


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("DEMO_", "ORDERFLOW_", "ACME_"))
    }
    return env | extra


def test_tenants_check_names_file_field_and_reason_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text(GOOD)
    (tmp_path / "beta.yaml").write_text("tenant: beta\n")

    result = orderflow("tenants", "check", str(tmp_path), env=clean_env())

    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{tmp_path / 'acme.yaml'}: api_keys[0]: environment variable ACME_KEY is not set"
    ]


def test_tenants_check_reports_rule_breaks_with_placeholders_for_missing_secrets(
    tmp_path: Path,
) -> None:
    (tmp_path / "acme.yaml").write_text(GOOD + "status_overrides: {OK: nonsense}\n")

    result = orderflow(
        "tenants", "check", "--allow-missing-secrets", str(tmp_path), env=clean_env()
    )

    assert result.returncode == 1
    [line] = result.stdout.splitlines()
    assert line.startswith(f"{tmp_path / 'acme.yaml'}: status_overrides.OK: ")


def test_tenants_check_passes_valid_files(tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text(GOOD)

    assert orderflow("tenants", "check", str(tmp_path), env=clean_env()).returncode == 1
    ok = orderflow("tenants", "check", str(tmp_path), env=clean_env(ACME_KEY="k" * 20))
    assert ok.returncode == 0, ok.stdout
    assert "1 tenant(s) OK: acme" in ok.stdout
    missing = orderflow(
        "tenants", "check", "--allow-missing-secrets", str(tmp_path), env=clean_env()
    )
    assert missing.returncode == 0


def test_run_without_make_fills_only_unset_demo_secrets_with_the_makefile_values() -> None:
    env = {"DEMO_STORE_API_KEY": "mine-0123456789abcdef"}

    filled = demo_defaults(EXAMPLES, env)

    assert "DEMO_STORE_API_KEY" not in filled and len(filled) == 13
    # demo-store's FTP drop login, so `make run` serves a working one
    assert env["DEMO_STORE_FTP_PASSWORD"] == "local-demo-store-ftp-password"
    assert env["DEMO_STORE_API_KEY"] == "mine-0123456789abcdef"
    assert (
        env["DEMO_CRM_SALES_KEY"] == demo_value("DEMO_CRM_SALES_KEY") == "local-demo-crm-sales-key"
    )
    check_tenants(EXAMPLES, env)  # the example tenants now load


def test_a_broken_tenant_file_is_refused_once_naming_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text(GOOD)
    with pytest.raises(
        PreflightError, match=r"acme.yaml: api_keys\[0\]: environment variable ACME_KEY"
    ):
        check_tenants(tmp_path, {})


def test_a_taken_port_is_named_with_the_variable_that_moves_it() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        problems = taken_ports("127.0.0.1", {"ingest HTTP": (port, "ORDERFLOW_HTTP_PORT")})
    assert len(problems) == 1
    assert f"port {port} (ingest HTTP)" in problems[0] and "set ORDERFLOW_HTTP_PORT" in problems[0]
    assert taken_ports("127.0.0.1", {"ingest HTTP": (port, "ORDERFLOW_HTTP_PORT")}) == []


def test_orderflow_run_with_a_taken_http_port_fails_before_starting_anything(
    tmp_path: Path,
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        base = holder.getsockname()[1] - 1  # status-tracker's port (base + 1) is taken
        result = orderflow(
            "run",
            env=clean_env(
                ORDERFLOW_HTTP_PORT=str(base),
                ORDERFLOW_DATA_DIR=str(tmp_path),
                ORDERFLOW_TENANTS_DIR=str(EXAMPLES),
                ORDERFLOW_SMTP_HOST="smtp.invalid",
            ),
        )
    assert result.returncode == 1
    assert f"port {base + 1} (status-tracker HTTP)" in result.stderr
    assert "ORDERFLOW_HTTP_PORT" in result.stderr
    assert "DEMO_* secret(s)" in result.stdout  # filled without make, then the port refused
    assert "local stack up" not in result.stdout and not (tmp_path / "logs").exists()
