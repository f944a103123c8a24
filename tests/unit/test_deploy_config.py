"""The packaging (Dockerfile, docker-compose.yml) agrees with the code it runs.

A renamed setting, a new tenant secret or a port changed on one side only fails here rather
than at `docker compose up`. Everything is found, not listed: the services are those of the
CLI's registry (`orderflow.shared.cli.SERVICES`), so one registered there but missing from
compose fails here, and the checks of each come from its compose entry and its `settings.py`.
The Kubernetes overlays have their own tests (test_k8s_*.py).
"""

from __future__ import annotations

import fnmatch
import re
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from orderflow.shared.cli import SERVICES
from orderflow.shared.provision import password_env_var
from tests.deploy_support import (
    DRAIN_S,
    HTTP_PORTS,
    PROVISION_MODULE,
    ROOT,
    command_module,
    dockerfile_instructions,
    dockerfile_uid,
    duration_s,
    load_settings,
    readable_env,
    service_module,
    service_name,
    tenant_secret_names,
)

# Third-party containers of compose; every other entry but `provision` runs an orderflow service.
INFRASTRUCTURE = {"kafka", "postgres", "mailpit"}
PROVISION = "provision"
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
APPS = sorted(set(COMPOSE) - INFRASTRUCTURE - {PROVISION})


# --- docker-compose.yml ---


def test_compose_runs_application_services_besides_the_infrastructure() -> None:
    assert APPS, "no orderflow service in docker-compose.yml"
    assert {*INFRASTRUCTURE, PROVISION} <= set(COMPOSE)


def test_compose_runs_exactly_the_registered_services() -> None:
    missing, unknown = set(SERVICES) - set(APPS), set(APPS) - set(SERVICES)
    assert not missing, f"registered in orderflow.shared.cli but not in compose: {sorted(missing)}"
    assert not unknown, f"in compose but not registered in orderflow.shared.cli: {sorted(unknown)}"


@pytest.mark.parametrize("name", [*APPS, PROVISION])
def test_image_is_built_from_the_one_dockerfile(name: str) -> None:
    build = COMPOSE[name]["build"]
    build = {"context": build} if isinstance(build, str) else build
    assert (ROOT / build["context"]).resolve() == ROOT
    assert (ROOT / build.get("dockerfile", "Dockerfile")).resolve() == ROOT / "Dockerfile"


@pytest.mark.parametrize("name", APPS)
def test_command_starts_the_services_own_module(name: str) -> None:
    module = service_module(COMPOSE[name]["command"])
    assert module == SERVICES.get(name)
    assert service_name(module) == name


@pytest.mark.parametrize("name", APPS)
def test_every_variable_set_is_read_by_the_code_or_a_tenant_file(name: str) -> None:
    module = service_module(COMPOSE[name]["command"])
    unknown = set(COMPOSE[name]["environment"]) - readable_env(module) - tenant_secret_names()
    assert not unknown, f"{name} sets variables nothing reads: {sorted(unknown)}"


@pytest.mark.parametrize("name", APPS)
def test_every_value_set_is_one_the_settings_accept(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_settings(
        service_module(COMPOSE[name]["command"]), COMPOSE[name]["environment"], monkeypatch
    )


@pytest.mark.parametrize("name", APPS)
def test_every_tenant_secret_is_passed_through_from_the_host(name: str) -> None:
    environment = COMPOSE[name]["environment"]
    for secret in tenant_secret_names():
        assert re.fullmatch(rf"\$\{{{secret}(:?[-?][^}}]*)?\}}", str(environment.get(secret)))


@pytest.mark.parametrize("name", APPS)
def test_http_port_is_the_healthcheck_and_published_port(name: str) -> None:
    service = COMPOSE[name]
    port = int(service["environment"]["ORDERFLOW_HTTP_PORT"])
    assert port == HTTP_PORTS.get(name), "not the port `orderflow run` gives it"
    # Inside a container the default 127.0.0.1 would be unreachable from the published port.
    assert ip_address(service["environment"]["ORDERFLOW_HTTP_HOST"]).is_unspecified
    probe = " ".join(service["healthcheck"]["test"])
    assert re.search(rf"http://127\.0\.0\.1:{port}/readyz'", probe), probe
    published = [str(p).split(":")[-2:] for p in service["ports"]]
    assert [str(port), str(port)] in published


@pytest.mark.parametrize("name", APPS)
def test_service_waits_for_kafka_and_a_finished_provision(name: str) -> None:
    service = COMPOSE[name]
    depends = service["depends_on"]
    assert depends["kafka"]["condition"] == "service_healthy"
    assert depends[PROVISION]["condition"] == "service_completed_successfully"
    assert service["restart"] in {"always", "unless-stopped", "on-failure"}
    assert duration_s(service["stop_grace_period"]) > DRAIN_S


@pytest.mark.parametrize("name", APPS)
def test_service_logs_in_with_the_password_provision_gave_its_role(name: str) -> None:
    environment = COMPOSE[name]["environment"]
    url = urlsplit(environment["DATABASE_URL"])
    assert url.username is None and url.password is None, "services need no admin login"
    provision_env = COMPOSE[PROVISION]["environment"]
    assert name in provision_env["ORDERFLOW_SERVICES"].split(",")
    assert environment["ORDERFLOW_DB_PASSWORD"] == provision_env[password_env_var(name)]


def published_container_ports(service: dict[str, Any]) -> set[int]:
    """`[host_ip:][host_port:]container_port[/protocol]` -> the container ports."""
    return {int(str(p).split(":")[-1].split("/")[0]) for p in service.get("ports", [])}


def sends_mail(command: str | list[str]) -> bool:
    return "ORDERFLOW_SMTP_HOST" in readable_env(service_module(command))


# Left to its default, the SMTP host would be 127.0.0.1: the service's own container.
@pytest.mark.parametrize("name", [n for n in APPS if sends_mail(COMPOSE[n]["command"])])
def test_smtp_host_is_a_compose_service_listening_on_the_smtp_port(name: str) -> None:
    environment = COMPOSE[name]["environment"]
    host = environment["ORDERFLOW_SMTP_HOST"]
    assert host in COMPOSE, f"{name} sends mail to {host}, which compose does not run"
    assert COMPOSE[name]["depends_on"][host]["condition"] == "service_healthy"
    assert int(environment["ORDERFLOW_SMTP_PORT"]) in published_container_ports(COMPOSE[host])


def test_provision_job_provisions_exactly_the_compose_services() -> None:
    job = COMPOSE[PROVISION]
    assert command_module(job["command"]) == PROVISION_MODULE
    services = job["environment"]["ORDERFLOW_SERVICES"].split(",")
    assert sorted(services) == APPS
    expected = {"DATABASE_URL", "ORDERFLOW_SERVICES", *map(password_env_var, services)}
    assert set(job["environment"]) == expected
    assert job["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_kafka_is_kraft_and_advertises_what_services_bootstrap_from() -> None:
    kafka = COMPOSE["kafka"]
    assert set(kafka["environment"]["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert kafka["healthcheck"]["test"]
    advertised = kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    for name in APPS:
        bootstrap = COMPOSE[name]["environment"]["KAFKA_BOOTSTRAP_SERVERS"]
        assert f"//{bootstrap}" in advertised, bootstrap
        assert COMPOSE[name]["environment"]["KAFKA_ENABLE_IDEMPOTENCE"] == "true"


def test_postgres_has_a_readiness_healthcheck() -> None:
    assert "pg_isready" in COMPOSE["postgres"]["healthcheck"]["test"]


def test_image_runs_as_a_numeric_non_root_user() -> None:
    assert dockerfile_uid() != 0


def test_image_is_multi_stage_on_python_311_slim_with_the_tenants_in_place() -> None:
    instructions = dockerfile_instructions()
    assert sum(word == "FROM" for word, _ in instructions) >= 2
    assert ("ARG", "PYTHON_IMAGE=python:3.11-slim") in instructions
    assert ("COPY", "config/tenants /app/config/tenants") in instructions
    env = " ".join(arg for word, arg in instructions if word == "ENV")
    assert "ORDERFLOW_TENANTS_DIR=/app/config/tenants" in env.split()
    assert "ORDERFLOW_HTTP_HOST=0.0.0.0" in env.split()
    assert any(word == "HEALTHCHECK" and "/readyz" in arg for word, arg in instructions)


def ignored_by_docker(path: str) -> bool:
    """.dockerignore semantics: the last pattern matching the path or a parent decides."""
    patterns = [p.strip() for p in (ROOT / ".dockerignore").read_text().splitlines()]
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in (p for p in patterns if p and not p.startswith("#")):
        exclude = not pattern.startswith("!")
        if any(fnmatch.fnmatch(prefix, pattern.lstrip("!")) for prefix in prefixes):
            ignored = exclude
    return ignored


def test_build_context_holds_what_the_dockerfile_copies_and_no_local_secrets() -> None:
    copies = [arg.split() for word, arg in dockerfile_instructions() if word == "COPY"]
    sources = [s for args in copies if not args[0].startswith("--") for s in args[:-1]]
    assert sources
    for source in sources:
        assert not ignored_by_docker(source), f"{source} is copied but .dockerignore drops it"
    for local in (".env", ".venv/bin/python", ".git/config", ".data/postgres"):
        assert ignored_by_docker(local), f"{local} would be sent to the builder"
