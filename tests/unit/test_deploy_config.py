"""The packaging (Dockerfile, docker-compose.yml, deploy/kubernetes) agrees with the code it runs.

A renamed setting, a new tenant secret or a port changed on one side only fails here rather
than at `docker compose up` or in a crash-looping pod. Everything is found, not listed: the
services are those of the CLI's registry (`orderflow.shared.cli.SERVICES`), so one registered
there but missing from compose or the manifests fails here, and the checks of each come from
its compose entry, its Deployment and its `settings.py`.
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.util
import inspect
import re
import shlex
from ipaddress import ip_address
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from orderflow.shared.cli import SERVICES, service_ports
from orderflow.shared.provision import password_env_var
from orderflow.shared.settings import DatabaseSettings, KafkaSettings, ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
# Third-party containers of compose; every other entry but `provision` runs an orderflow service.
INFRASTRUCTURE = {"kafka", "postgres", "mailpit"}
PROVISION = "provision"
PROVISION_MODULE = "orderflow.shared.provision"
# SIGTERM -> exit, promised by the service runtime (deploy/README.md).
DRAIN_S = 10
# `orderflow run` numbers the services' ports from ORDERFLOW_HTTP_PORT, 8080 unless set; the
# containers use the same ports so that URLs and docs hold for both.
HTTP_PORTS = service_ports(8080)

COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
APPS = sorted(set(COMPOSE) - INFRASTRUCTURE - {PROVISION})
MANIFESTS: list[dict[str, Any]] = [
    doc for f in sorted(KUBERNETES.glob("*.yaml")) for doc in yaml.safe_load_all(f.read_text())
]
DEPLOYMENTS = {d["metadata"]["name"]: d for d in MANIFESTS if d["kind"] == "Deployment"}


# --- what the code reads ---


def settings_env_names(cls: type[BaseSettings]) -> set[str]:
    """Environment variables a pydantic-settings class reads: aliases, else prefix + field."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    names: set[str] = set()
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {choice.upper() for choice in alias.choices if isinstance(choice, str)}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add((prefix + field_name).upper())
    return names


def service_settings_class(module: str) -> type[ServiceSettings]:
    settings_module = importlib.import_module(f"orderflow.services.{module}.settings")
    found = [
        cls
        for _, cls in inspect.getmembers(settings_module, inspect.isclass)
        if issubclass(cls, ServiceSettings) and cls.__module__ == settings_module.__name__
    ]
    assert len(found) == 1, f"{settings_module.__name__} must define one ServiceSettings subclass"
    return found[0]


def settings_classes(module: str) -> tuple[type[BaseSettings], ...]:
    return (KafkaSettings, DatabaseSettings, service_settings_class(module))


def readable_env(module: str) -> set[str]:
    return set().union(*(settings_env_names(cls) for cls in settings_classes(module)))


def load_settings(module: str, env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Builds the service's settings from the literal values of `env` (secrets, `${...}` and
    valueFrom are left out), so a value the code cannot parse fails here."""
    for name in readable_env(module):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        if isinstance(value, str | int | float | bool) and "${" not in str(value):
            monkeypatch.setenv(name, str(value))
    for cls in settings_classes(module):
        cls()


def _strings(node: object) -> list[str]:
    if isinstance(node, dict):
        return [s for value in node.values() for s in _strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return [node] if isinstance(node, str) else []


def tenant_secret_names() -> set[str]:
    """Every `${NAME}` in the values of the example tenant files (comments do not count)."""
    return {
        name
        for f in (ROOT / "config" / "tenants").glob("*.yaml")
        for text in _strings(yaml.safe_load(f.read_text()))
        for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", text)
    }


def command_module(command: str | list[str]) -> str:
    argv = shlex.split(command) if isinstance(command, str) else command
    assert argv[:2] == ["python", "-m"] and len(argv) == 3, f"not `python -m <module>`: {argv}"
    return argv[2]


def service_module(command: str | list[str]) -> str:
    """`python -m orderflow.services.<module>` -> `<module>`, which must be importable."""
    module = command_module(command)
    assert module.startswith("orderflow.services."), module
    assert importlib.util.find_spec(module) is not None, f"{module} does not exist"
    return module.removeprefix("orderflow.services.")


def service_name(module: str) -> str:
    """The name the service runs as (role, schema, consumer group): its app's NAME."""
    return str(importlib.import_module(f"orderflow.services.{module}.app").NAME)


def duration_s(text: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"([\d.]+)(ms|s|m|h)", text))


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


# --- Dockerfile and .dockerignore ---


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [
        (word.upper(), rest.strip())
        for word, _, rest in (line.partition(" ") for line in lines if line and line[0] != "#")
    ]


def dockerfile_uid() -> int:
    users = [arg for word, arg in dockerfile_instructions() if word == "USER"]
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), "USER must be numeric so Kubernetes can check runAsNonRoot"
    return int(uid)


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


# --- deploy/kubernetes ---


def manifest(kind: str, name: str) -> dict[str, Any]:
    found = [d for d in MANIFESTS if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name} is not defined once in deploy/kubernetes"
    return found[0]


def container_env(container: dict[str, Any]) -> dict[str, Any]:
    """Variable -> value (or valueFrom), with envFrom ConfigMaps and Secrets resolved."""
    env: dict[str, Any] = {}
    for source in container.get("envFrom", []):
        kind, ref = (
            ("ConfigMap", "configMapRef") if "configMapRef" in source else ("Secret", "secretRef")
        )
        document = manifest(kind, source[ref]["name"])
        env |= document.get("data") or document.get("stringData") or {}
    for item in container.get("env", []):
        env[item["name"]] = item.get("value", item.get("valueFrom"))
    return env


def pod(deployment: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = deployment["spec"]["template"]["spec"]
    assert len(spec["containers"]) == 1
    return spec, spec["containers"][0]


def test_manifests_define_deployments() -> None:
    assert DEPLOYMENTS, "no Deployment in deploy/kubernetes"


def deployed_services() -> dict[str, str]:
    """Service name -> Deployment name, from the module each Deployment runs."""
    return {
        service_name(service_module(pod(d)[1]["command"])): name for name, d in DEPLOYMENTS.items()
    }


def test_manifests_deploy_exactly_the_registered_services() -> None:
    deployed = deployed_services()
    assert len(deployed) == len(DEPLOYMENTS), "two Deployments run the same service"
    missing, unknown = set(SERVICES) - set(deployed), set(deployed) - set(SERVICES)
    assert not missing, f"registered in orderflow.shared.cli but not deployed: {sorted(missing)}"
    assert not unknown, f"deployed but not registered in orderflow.shared.cli: {sorted(unknown)}"


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_deployment_runs_the_registered_module_on_its_port(name: str) -> None:
    _, container = pod(DEPLOYMENTS[name])
    module = service_module(container["command"])
    service = service_name(module)
    assert module == SERVICES.get(service)
    assert int(container_env(container)["ORDERFLOW_HTTP_PORT"]) == HTTP_PORTS.get(service)


def selects(document: dict[str, Any], labels: dict[str, str]) -> bool:
    selector = document["spec"]["selector"]
    selector = selector.get("matchLabels", selector)
    return bool(selector) and selector.items() <= labels.items()


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_deployment_has_a_disruption_budget_allowing_one_pod_down(name: str) -> None:
    labels = DEPLOYMENTS[name]["spec"]["template"]["metadata"]["labels"]
    budgets = [d for d in MANIFESTS if d["kind"] == "PodDisruptionBudget" and selects(d, labels)]
    assert len(budgets) == 1, f"{name} needs exactly one PodDisruptionBudget"
    assert budgets[0]["spec"].get("maxUnavailable") == 1


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_deployment_sets_only_variables_the_code_reads(name: str) -> None:
    _, container = pod(DEPLOYMENTS[name])
    module = service_module(container["command"])
    unknown = set(container_env(container)) - readable_env(module) - tenant_secret_names()
    assert not unknown, f"{name} sets variables nothing reads: {sorted(unknown)}"
    assert tenant_secret_names() <= set(container_env(container))


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_deployment_values_are_ones_the_settings_accept(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, container = pod(DEPLOYMENTS[name])
    load_settings(service_module(container["command"]), container_env(container), monkeypatch)


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_probes_and_service_target_the_http_port(name: str) -> None:
    _, container = pod(DEPLOYMENTS[name])
    port = int(container_env(container)["ORDERFLOW_HTTP_PORT"])
    named = {p["name"]: p["containerPort"] for p in container["ports"] if "name" in p}
    assert port in named.values()
    expected = {"readinessProbe": "/readyz", "livenessProbe": "/healthz"}
    if "startupProbe" in container:  # optional; it delays liveness until HTTP listens
        expected["startupProbe"] = "/healthz"
    for probe, path in expected.items():
        get = container[probe]["httpGet"]
        assert (get["path"], named.get(get["port"], get["port"])) == (path, port), probe
    labels = DEPLOYMENTS[name]["spec"]["template"]["metadata"]["labels"]
    services = [d for d in MANIFESTS if d["kind"] == "Service" and selects(d, labels)]
    assert services, f"no Service selects {name}"
    for service in services:
        for p in service["spec"]["ports"]:
            assert named.get(p["targetPort"], p["targetPort"]) == port


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_pods_run_as_the_image_user_and_have_time_to_drain(name: str) -> None:
    spec, container = pod(DEPLOYMENTS[name])
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == dockerfile_uid()
    pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    pause = float(pre_stop[1]) if pre_stop[:1] == ["sleep"] else 0.0
    assert spec["terminationGracePeriodSeconds"] > pause + DRAIN_S
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_mounted_tenants_are_the_example_tenant_files(name: str) -> None:
    spec, container = pod(DEPLOYMENTS[name])
    tenants_dir = container_env(container)["ORDERFLOW_TENANTS_DIR"]
    [mount] = [m for m in container["volumeMounts"] if m["mountPath"] == tenants_dir]
    [volume] = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    data = manifest("ConfigMap", volume["configMap"]["name"])["data"]
    files = {f.name: f.read_text() for f in (ROOT / "config" / "tenants").glob("*.yaml")}
    assert data == files, "ConfigMap and config/tenants/*.yaml differ"


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_deployment_uses_the_role_password_provision_sets(name: str) -> None:
    _, container = pod(DEPLOYMENTS[name])
    env = container_env(container)
    assert urlsplit(env["DATABASE_URL"]).username is None, "services need no admin login"
    service = service_name(service_module(container["command"]))
    [job] = [d for d in MANIFESTS if d["kind"] == "Job"]
    job_container = job["spec"]["template"]["spec"]["containers"][0]
    assert command_module(job_container["command"]) == PROVISION_MODULE
    job_env = container_env(job_container)
    assert service in job_env["ORDERFLOW_SERVICES"].split(",")
    assert env["ORDERFLOW_DB_PASSWORD"] == job_env[password_env_var(service)]


@pytest.mark.parametrize(
    "name", [n for n, d in sorted(DEPLOYMENTS.items()) if sends_mail(pod(d)[1]["command"])]
)
def test_deployment_that_sends_mail_names_an_smtp_server(name: str) -> None:
    env = container_env(pod(DEPLOYMENTS[name])[1])
    assert env["ORDERFLOW_SMTP_HOST"] not in {"127.0.0.1", "::1", "localhost"}
    assert "ORDERFLOW_SMTP_PORT" in env


def test_provision_job_provisions_exactly_the_registered_services() -> None:
    [job] = [d for d in MANIFESTS if d["kind"] == "Job"]
    env = container_env(job["spec"]["template"]["spec"]["containers"][0])
    services = env["ORDERFLOW_SERVICES"].split(",")
    assert sorted(services) == sorted(SERVICES)
    assert {"DATABASE_URL", "ORDERFLOW_SERVICES", *map(password_env_var, services)} == set(env)


def test_secret_template_holds_placeholders_and_every_tenant_secret() -> None:
    secrets = [d for d in MANIFESTS if d["kind"] == "Secret"]
    values = [value for s in secrets for value in s["stringData"].values()]
    assert values and all("CHANGE_ME" in value for value in values), "a real secret in git?"
    assert tenant_secret_names() <= {k for s in secrets for k in s["stringData"]}


def test_kustomization_applies_every_manifest_but_the_secret_template() -> None:
    [kustomization] = [d for d in MANIFESTS if d["kind"] == "Kustomization"]
    manifests = {f.name for f in KUBERNETES.glob("*.yaml")}
    assert set(kustomization["resources"]) == manifests - {
        "kustomization.yaml",
        "secrets.example.yaml",
    }
