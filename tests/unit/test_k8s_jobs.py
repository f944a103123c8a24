"""The operators' one-off Jobs (deploy/jobs): valid Kubernetes, a command the CLI takes, and
the network the services' policies give them (DNS and Postgres only)."""

from __future__ import annotations

import argparse

import kubernetes_validate
import pytest
import yaml

from orderflow.shared import cli_dlq
from orderflow.shared.cli import SERVICES
from tests.k8s_support import DEPLOY, OVERLAYS, Doc, labels_match, of_kind, rendered

REPLAY = DEPLOY / "jobs" / "dlq-replay.yaml"


def replay_job(service: str, dry_run: bool = True) -> Doc:
    """The template as README's `sed` makes it."""
    lines = REPLAY.read_text().replace("SERVICE_NAME", service).splitlines()
    job: Doc = yaml.safe_load("\n".join(x for x in lines if dry_run or "--dry-run" not in x))
    return job


def parsed(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="orderflow")
    cli_dlq.add_commands(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


@pytest.mark.parametrize("dry_run", [True, False])
@pytest.mark.parametrize("service", SERVICES)
def test_the_replay_job_runs_the_dlq_command_for_the_service(service: str, dry_run: bool) -> None:
    job = replay_job(service, dry_run)
    kubernetes_validate.validate(job, "1.30.0", strict=True)
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["command"][0] == "orderflow"
    args = parsed(container["command"][1:])
    assert (args.action, args.service, args.dry_run) == ("replay", service, dry_run)
    env = {e["name"]: e for e in container["env"]}
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "orderflow-db",
        "key": "admin-url",
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_replay_job_reaches_dns_and_postgres_only(overlay: str) -> None:
    labels = replay_job("rewards")["spec"]["template"]["metadata"]["labels"]
    selecting = [
        p
        for p in of_kind(rendered(overlay), "NetworkPolicy")
        if labels_match(p["spec"]["podSelector"], labels)
    ]
    assert "orderflow-default-deny" in {p["metadata"]["name"] for p in selecting}
    ports = {
        port["port"]
        for p in selecting
        for rule in p["spec"].get("egress", [])
        for port in rule["ports"]
    }
    assert ports == {53, 5432}
    assert not [r for p in selecting for r in p["spec"].get("ingress", [])]
