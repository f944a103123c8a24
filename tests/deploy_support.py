"""What the code reads and runs, for the tests that check the packaging against it
(tests/unit/test_deploy_config.py: compose and the Dockerfile; test_k8s_*.py: deploy/)."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from orderflow.shared.cli import service_ports
from orderflow.shared.settings import DatabaseSettings, KafkaSettings, ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
PROVISION_MODULE = "orderflow.shared.provision"
# SIGTERM -> exit, promised by the service runtime (deploy/README.md).
DRAIN_S = 10
# `orderflow run` numbers the services' ports from ORDERFLOW_HTTP_PORT, 8080 unless set; the
# containers use the same ports so that URLs and docs hold for both.
HTTP_PORTS = service_ports(8080)


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


def tenant_secret_names(texts: list[str] | None = None) -> set[str]:
    """Every `${NAME}` in the values of tenant files (comments do not count): the example
    tenants of config/tenants unless `texts` gives others."""
    if texts is None:
        texts = [f.read_text() for f in (ROOT / "config" / "tenants").glob("*.yaml")]
    return {
        name
        for text in texts
        for value in _strings(yaml.safe_load(text))
        for name in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", value)
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
