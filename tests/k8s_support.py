"""The Kubernetes overlays as `kubectl kustomize` renders them, for the deploy/ unit tests.

Rendering is pure (no cluster, no network): kubectl's built-in kustomize reads deploy/ only.
The Secrets of an overlay are not in its rendering (they are created outside git); its
`secrets.example.yaml` says which names and keys they have.
"""

from __future__ import annotations

import copy
import functools
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
OVERLAYS = ("dev", "production")
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
Doc = dict[str, Any]


@functools.cache
def _render(overlay: str) -> tuple[Doc, ...]:
    if not Path(KUBECTL).exists():
        pytest.skip("kubectl is not installed (deploy/README.md: the tests render with it)")
    done = subprocess.run(
        [KUBECTL, "kustomize", str(DEPLOY / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"kubectl kustomize overlays/{overlay}: {done.stderr}"
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return tuple(d for d in yaml.load_all(done.stdout, Loader=loader) if d)


def rendered(overlay: str) -> list[Doc]:
    """A fresh copy of the overlay's documents (tests may change what they get)."""
    return copy.deepcopy(list(_render(overlay)))


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[Doc], kind: str, name: str) -> Doc:
    found = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name} is not rendered exactly once"
    return found[0]


def example_secrets(overlay: str) -> dict[str, dict[str, str]]:
    """Secret name -> its keys and placeholder values, from the overlay's template."""
    path = DEPLOY / "overlays" / overlay / "secrets.example.yaml"
    return {
        d["metadata"]["name"]: d["stringData"]
        for d in yaml.safe_load_all(path.read_text())
        if d and d["kind"] == "Secret"
    }


def labels_match(selector: Doc, labels: dict[str, str]) -> bool:
    """A label selector (matchLabels and matchExpressions) against a pod's labels."""
    if not all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        present = key in labels
        if operator == "In" and not (present and labels[key] in values):
            return False
        if operator == "NotIn" and present and labels[key] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def pod_labels(workload: Doc) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def pod_spec(workload: Doc) -> Doc:
    spec: Doc = workload["spec"]["template"]["spec"]
    return spec
