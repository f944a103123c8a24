"""Each overlay's Deployments and Job agree with the code they run (rendered by kubectl kustomize).

The services are the CLI's registry (`orderflow.shared.cli.SERVICES`): one registered there
but not deployed fails here, and so does a variable nothing reads, a value the settings
refuse, a probe on another port, or tenants that are not the overlay's own.
"""

from __future__ import annotations

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
    dockerfile_uid,
    load_settings,
    readable_env,
    service_module,
    service_name,
    tenant_secret_names,
)
from tests.k8s_support import (
    DEPLOY,
    OVERLAYS,
    Doc,
    example_secrets,
    labels_match,
    of_kind,
    one,
    pod_labels,
    pod_spec,
    rendered,
)

CASES = [(overlay, service) for overlay in OVERLAYS for service in SERVICES]


def container(workload: Doc) -> Doc:
    containers = pod_spec(workload)["containers"]
    assert len(containers) == 1
    only: Doc = containers[0]
    return only


def container_env(overlay: str, docs: list[Doc], c: Doc) -> dict[str, Any]:
    """Variable -> value (or valueFrom), with envFrom ConfigMaps and the template's Secrets."""
    env: dict[str, Any] = {}
    secrets = example_secrets(overlay)
    for source in c.get("envFrom", []):
        if "configMapRef" in source:
            env |= one(docs, "ConfigMap", source["configMapRef"]["name"])["data"]
        elif source["secretRef"]["name"] in secrets:
            env |= secrets[source["secretRef"]["name"]]
        else:
            assert source["secretRef"].get("optional"), f"no template of {source}"
    for item in c.get("env", []):
        env[item["name"]] = item.get("value", item.get("valueFrom"))
    return env


def tenant_files(overlay: str, docs: list[Doc], workload: Doc) -> dict[str, str]:
    """What the Deployment mounts at ORDERFLOW_TENANTS_DIR: a ConfigMap's or a Secret's files."""
    c = container(workload)
    tenants_dir = container_env(overlay, docs, c)["ORDERFLOW_TENANTS_DIR"]
    [mount] = [m for m in c["volumeMounts"] if m["mountPath"] == tenants_dir]
    [volume] = [v for v in pod_spec(workload)["volumes"] if v["name"] == mount["name"]]
    if "configMap" in volume:
        data: dict[str, str] = one(docs, "ConfigMap", volume["configMap"]["name"])["data"]
        return data
    return example_secrets(overlay)[volume["secret"]["secretName"]]


def deployment(overlay: str, service: str) -> tuple[list[Doc], Doc]:
    docs = rendered(overlay)
    return docs, one(docs, "Deployment", f"orderflow-{service}")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_deploys_exactly_the_registered_services(overlay: str) -> None:
    deployed = {
        service_name(service_module(container(d)["command"])): d["metadata"]["name"]
        for d in of_kind(rendered(overlay), "Deployment")
    }
    assert deployed == {s: f"orderflow-{s}" for s in SERVICES}


@pytest.mark.parametrize(("overlay", "service"), CASES)
def test_deployment_runs_the_registered_module_on_its_port(overlay: str, service: str) -> None:
    docs, d = deployment(overlay, service)
    c = container(d)
    assert service_module(c["command"]) == SERVICES[service]
    assert int(container_env(overlay, docs, c)["ORDERFLOW_HTTP_PORT"]) == HTTP_PORTS[service]


@pytest.mark.parametrize(("overlay", "service"), CASES)
def test_deployment_has_a_disruption_budget_allowing_one_pod_down(
    overlay: str, service: str
) -> None:
    docs, d = deployment(overlay, service)
    budgets = [
        b
        for b in of_kind(docs, "PodDisruptionBudget")
        if labels_match(b["spec"]["selector"], pod_labels(d))
    ]
    assert len(budgets) == 1 and budgets[0]["spec"].get("maxUnavailable") == 1


@pytest.mark.parametrize(("overlay", "service"), CASES)
def test_deployment_sets_only_variables_the_code_reads_and_values_it_accepts(
    overlay: str, service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs, d = deployment(overlay, service)
    env = container_env(overlay, docs, container(d))
    tenants = tenant_secret_names(list(tenant_files(overlay, docs, d).values()))
    unknown = set(env) - readable_env(SERVICES[service]) - tenants
    assert not unknown, f"sets variables nothing reads: {sorted(unknown)}"
    assert tenants <= set(env), "a ${NAME} of the mounted tenants is not in the environment"
    load_settings(SERVICES[service], env, monkeypatch)


@pytest.mark.parametrize(("overlay", "service"), CASES)
def test_probes_and_service_target_the_http_port(overlay: str, service: str) -> None:
    docs, d = deployment(overlay, service)
    c = container(d)
    port = HTTP_PORTS[service]
    named = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert named == {"http": port}
    for probe, path in {"readinessProbe": "/readyz", "livenessProbe": "/healthz"}.items():
        get = c[probe]["httpGet"]
        assert (get["path"], named.get(get["port"], get["port"])) == (path, port), probe
    if "startupProbe" in c:
        assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
    services = [
        s
        for s in of_kind(docs, "Service")
        if labels_match({"matchLabels": s["spec"]["selector"]}, pod_labels(d))
    ]
    assert services, f"no Service selects orderflow-{service}"
    for s in services:
        assert all(named.get(p["targetPort"], p["targetPort"]) == port for p in s["spec"]["ports"])


@pytest.mark.parametrize(("overlay", "service"), CASES)
def test_pods_run_as_the_image_user_and_have_time_to_drain(overlay: str, service: str) -> None:
    _, d = deployment(overlay, service)
    spec, c = pod_spec(d), container(d)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == dockerfile_uid()
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    pre_stop = c["lifecycle"]["preStop"]["exec"]["command"]
    pause = float(pre_stop[1]) if pre_stop[:1] == ["sleep"] else 0.0
    assert spec["terminationGracePeriodSeconds"] > pause + DRAIN_S
    assert {"cpu", "memory"} <= set(c["resources"]["requests"])
    assert "replicas" not in d["spec"], "KEDA's ScaledObject owns the replicas"


def test_base_ships_no_tenants() -> None:
    base = (DEPLOY / "base").rglob("*")
    assert not [p for p in base if p.suffix in {".yaml", ".yml"} and "tenant:" in p.read_text()]


@pytest.mark.parametrize("service", SERVICES)
def test_dev_mounts_the_example_tenants(service: str) -> None:
    docs, d = deployment("dev", service)
    files = {f.name: f.read_text() for f in (ROOT / "config" / "tenants").glob("*.yaml")}
    assert tenant_files("dev", docs, d) == files, "run `make docs` to copy config/tenants"


@pytest.mark.parametrize("service", SERVICES)
def test_production_mounts_its_tenants_from_the_secret(service: str) -> None:
    docs, d = deployment("production", service)
    volumes = {v["name"]: v for v in pod_spec(d)["volumes"]}
    assert volumes["tenants"] == {"name": "tenants", "secret": {"secretName": "orderflow-tenants"}}
    for text in tenant_files("production", docs, d).values():
        assert yaml.safe_load(text)["tenant"]
    configs = of_kind(docs, "ConfigMap")
    assert configs and not [c for c in configs if "tenant:" in str(c.get("data"))]


@pytest.mark.parametrize(("overlay", "service"), CASES)
def test_deployment_uses_the_role_password_provision_sets(overlay: str, service: str) -> None:
    docs, d = deployment(overlay, service)
    env = container_env(overlay, docs, container(d))
    assert urlsplit(env["DATABASE_URL"]).username is None, "services need no admin login"
    [job] = of_kind(docs, "Job")
    job_env = container_env(overlay, docs, container(job))
    assert command_module(container(job)["command"]) == PROVISION_MODULE
    assert service in job_env["ORDERFLOW_SERVICES"].split(",")
    assert env["ORDERFLOW_DB_PASSWORD"] == job_env[password_env_var(service)]
    key = env["ORDERFLOW_DB_PASSWORD"]["secretKeyRef"]
    assert key["key"] in example_secrets(overlay)[key["name"]]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_provision_job_provisions_exactly_the_registered_services(overlay: str) -> None:
    docs = rendered(overlay)
    [job] = of_kind(docs, "Job")
    env = container_env(overlay, docs, container(job))
    services = env["ORDERFLOW_SERVICES"].split(",")
    assert sorted(services) == sorted(SERVICES)
    assert {"DATABASE_URL", "ORDERFLOW_SERVICES", *map(password_env_var, services)} == set(env)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_notifier_names_an_smtp_server(overlay: str) -> None:
    docs, d = deployment(overlay, "notifier")
    env = container_env(overlay, docs, container(d))
    assert env["ORDERFLOW_SMTP_HOST"] not in {"127.0.0.1", "::1", "localhost"}
    assert "ORDERFLOW_SMTP_PORT" in env


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secret_template_holds_placeholders_only(overlay: str) -> None:
    values = [v for keys in example_secrets(overlay).values() for v in keys.values()]
    assert values and all("CHANGE_ME" in v for v in values), "a real secret in git?"
    assert not of_kind(rendered(overlay), "Secret"), "Secrets are created outside git"
