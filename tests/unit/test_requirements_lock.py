"""requirements.lock pins every runtime dependency of pyproject.toml with hashes, and the image
installs exactly that (deploy/README.md "The image": `make lock` refreshes it)."""

from __future__ import annotations

import re
import tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy_support import ROOT, dockerfile_instructions

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def locked() -> dict[str, tuple[str, int]]:
    """Package -> (version, number of hashes), from the lock's `name==version \\ --hash` blocks."""
    pins: dict[str, tuple[str, int]] = {}
    current = ""
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match[1])
            pins[current] = (match[2], 0)
        elif "--hash=sha256:" in line and current:
            version, hashes = pins[current]
            pins[current] = (version, hashes + 1)
    return pins


def test_every_runtime_dependency_is_pinned_within_its_range_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = locked()
    assert pins and all(hashes > 0 for _, hashes in pins.values()), "a pin without hashes"
    for text in project["dependencies"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run `make lock`"
        assert requirement.specifier.contains(pins[name][0], prereleases=True), (
            f"{name}=={pins[name][0]} is outside {requirement.specifier}: run `make lock`"
        )


def test_no_development_or_local_extra_is_locked_for_the_image() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = {canonicalize_name(Requirement(t).name) for t in project["dependencies"]}
    extras = {
        canonicalize_name(Requirement(t).name)
        for group in project["optional-dependencies"].values()
        for t in group
    }
    assert not (extras - runtime - {"orderflow"}) & set(locked())


def test_the_image_installs_the_lock_with_hash_checking_and_nothing_else() -> None:
    runs = [arg for word, arg in dockerfile_instructions() if word == "RUN"]
    assert any("--require-hashes" in r and "-r requirements.lock" in r for r in runs)
    installs = [r for r in runs if "pip install" in r]
    assert installs and all("--no-index" in r and "--no-deps" in r for r in installs)
    assert any("--no-deps" in r and "pip wheel" in r and r.rstrip().endswith(" .") for r in runs)
