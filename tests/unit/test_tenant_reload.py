"""Reloading tenant files: a good change applies, a bad file is refused and keeps its old
configuration, a cross-tenant break changes nothing."""

from __future__ import annotations

from pathlib import Path

from orderflow.shared.tenant_reload import apply, reloaded
from orderflow.shared.tenants import load_tenants

ENV = {"A_KEY": "a-key-0123456789abcdef", "B_KEY": "b-key-0123456789abcdef"}


def _write(directory: Path, tenant: str, text: str) -> None:
    (directory / f"{tenant}.yaml").write_text(f"tenant: {tenant}\n{text}")


def test_a_bad_file_is_refused_with_its_reason_and_keeps_the_old_configuration(
    tmp_path: Path,
) -> None:
    _write(tmp_path, "a", "api_keys: ['${A_KEY}']\nlanguage: en\n")
    registry = load_tenants(tmp_path, ENV)
    _write(tmp_path, "a", "api_keys: ['${A_KEY}']\nlanguage: 'not a language'\n")
    _write(tmp_path, "b", "api_keys: ['${B_KEY}']\n")

    assert apply(tmp_path, registry, ENV)

    assert registry.tenants() == ["a", "b"]  # b applied
    assert registry.get("a").language == "en"  # a refused, kept
    _, problems = reloaded(tmp_path, registry, ENV)
    assert [(Path(p.file).name, p.path) for p in problems] == [("a.yaml", "language")]


def test_a_good_change_applies_in_place(tmp_path: Path) -> None:
    _write(tmp_path, "a", "api_keys: ['${A_KEY}']\n")
    registry = load_tenants(tmp_path, ENV)
    _write(tmp_path, "a", "api_keys: ['${A_KEY}']\nstatus_profile: crm\n")

    assert apply(tmp_path, registry, ENV)
    assert registry.get("a").status_profile.value == "crm"


def test_a_key_shared_by_two_tenants_changes_nothing(tmp_path: Path) -> None:
    _write(tmp_path, "a", "api_keys: ['${A_KEY}']\n")
    registry = load_tenants(tmp_path, ENV)
    _write(tmp_path, "b", "api_keys: ['${A_KEY}']\n")

    assert not apply(tmp_path, registry, ENV)
    assert registry.tenants() == ["a"]
    assert registry.authenticate(ENV["A_KEY"]) is not None
