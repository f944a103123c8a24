"""Every object both overlays render is valid: core kinds against Kubernetes' own OpenAPI schemas
(kubernetes-validate, strict: an unknown field fails), custom resources against the
openAPIV3Schema of their published CRDs (tests/fixtures/crds, SOURCES.md says where from).
No cluster and no network: the schemas are on disk.
"""

from __future__ import annotations

import copy
import functools
import json
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from tests.k8s_support import OVERLAYS, ROOT, Doc, of_kind, rendered

CRDS = ROOT / "tests" / "fixtures" / "crds"
# The oldest Kubernetes the manifests claim (deploy/README.md) and the newest known.
KUBERNETES = ("1.30.0", "1.37.0")


@functools.cache
def crd_schema(api_version: str, kind: str) -> dict[str, Any]:
    group, version = api_version.split("/")
    path = CRDS / f"{group}_{kind}_{version}.json"
    assert path.exists(), f"no published schema of {api_version} {kind} in tests/fixtures/crds"
    schema: dict[str, Any] = json.loads(path.read_text())
    return schema


def is_custom(doc: Doc) -> bool:
    group = doc["apiVersion"].rpartition("/")[0]
    return "." in group and not group.endswith(".k8s.io")


def crd_errors(doc: Doc) -> list[str]:
    validator = jsonschema.Draft7Validator(crd_schema(doc["apiVersion"], doc["kind"]))
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)
    ]


@pytest.mark.parametrize("version", KUBERNETES)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_core_objects_are_valid_kubernetes(overlay: str, version: str) -> None:
    core = [d for d in rendered(overlay) if not is_custom(d)]
    assert {"Deployment", "Service", "NetworkPolicy", "Job", "ConfigMap"} <= {
        d["kind"] for d in core
    }
    for doc in core:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as e:
            pytest.fail(f"{doc['kind']}/{doc['metadata']['name']}: {e.message}")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_custom_resources_match_their_published_crds(overlay: str) -> None:
    custom = [d for d in rendered(overlay) if is_custom(d)]
    expected = {"KafkaTopic", "KafkaUser", "ScaledObject", "TriggerAuthentication"}
    assert expected | {"ServiceMonitor", "PrometheusRule"} <= {d["kind"] for d in custom}
    for doc in custom:
        errors = crd_errors(doc)
        assert not errors, f"{doc['kind']}/{doc['metadata']['name']}: {errors}"


@pytest.mark.parametrize(
    ("kind", "breaks"),
    [
        ("ScaledObject", lambda spec: spec.pop("scaleTargetRef")),
        ("ScaledObject", lambda spec: spec["triggers"][0].pop("type")),
        ("KafkaUser", lambda spec: spec["authentication"].update(type="plain")),
        ("KafkaUser", lambda spec: spec["authorization"]["acls"][0].update(operations=["Fly"])),
        ("KafkaTopic", lambda spec: spec.update(partitions=0)),
        ("Kafka", lambda spec: spec["kafka"]["listeners"][0].pop("tls")),
        ("KafkaNodePool", lambda spec: spec.pop("roles")),
        ("ServiceMonitor", lambda spec: spec.pop("selector")),
        ("PrometheusRule", lambda spec: spec["groups"][0].pop("name")),
    ],
)
def test_the_published_schemas_refuse_a_broken_object(kind: str, breaks: Any) -> None:
    doc = copy.deepcopy(of_kind(rendered("dev"), kind)[0])
    assert not crd_errors(doc)
    breaks(doc["spec"])
    assert crd_errors(doc), f"the {kind} schema accepted a broken object"
