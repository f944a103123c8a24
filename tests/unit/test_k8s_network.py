"""The NetworkPolicies of both overlays: each service reaches only DNS, Kafka and Postgres (the
notifier also the internet on the web and SMTP ports) and is reached only on its HTTP port."""

from __future__ import annotations

import pytest

from orderflow.shared.cli import SERVICES
from tests.deploy_support import HTTP_PORTS
from tests.k8s_support import OVERLAYS, Doc, labels_match, of_kind, one, pod_labels, rendered

DNS, KAFKA, POSTGRES = 53, 9093, 5432
INTERNET = {443, 80, 587, 465}  # webhooks, and the SMTP relay (STARTTLS, implicit TLS)
CASES = [(overlay, service) for overlay in OVERLAYS for service in SERVICES]


def policies_of(docs: list[Doc], labels: dict[str, str], direction: str) -> list[Doc]:
    return [
        p
        for p in of_kind(docs, "NetworkPolicy")
        if direction in p["spec"]["policyTypes"] and labels_match(p["spec"]["podSelector"], labels)
    ]


def rules(policies: list[Doc], direction: str) -> list[Doc]:
    return [r for p in policies for r in p["spec"].get(direction.lower(), [])]


def ports(rule: Doc) -> set[int]:
    assert rule.get("ports"), f"a rule open on every port: {rule}"
    return {p["port"] for p in rule["ports"]}


@pytest.mark.parametrize(("overlay", "service"), CASES)
def test_every_pod_is_denied_by_default_both_ways(overlay: str, service: str) -> None:
    docs = rendered(overlay)
    labels = pod_labels(one(docs, "Deployment", f"orderflow-{service}"))
    deny = one(docs, "NetworkPolicy", "orderflow-default-deny")
    assert labels_match(deny["spec"]["podSelector"], labels)
    assert set(deny["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    assert "ingress" not in deny["spec"] and "egress" not in deny["spec"]


@pytest.mark.parametrize(("overlay", "service"), CASES)
def test_egress_is_dns_kafka_postgres_and_for_the_notifier_the_internet(
    overlay: str, service: str
) -> None:
    docs = rendered(overlay)
    labels = pod_labels(one(docs, "Deployment", f"orderflow-{service}"))
    allowed = [ports(r) for r in rules(policies_of(docs, labels, "Egress"), "Egress")]
    expected = {DNS, KAFKA, POSTGRES} | (INTERNET if service == "notifier" else set())
    assert set().union(*allowed) == expected
    for rule in rules(policies_of(docs, labels, "Egress"), "Egress"):
        if ports(rule) & INTERNET:
            blocks = [to["ipBlock"] for to in rule["to"]]
            assert all(
                "169.254.169.254/32" in b.get("except", []) for b in blocks if "." in b["cidr"]
            )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kafka_and_postgres_are_reached_only_where_they_are(overlay: str) -> None:
    docs = rendered(overlay)
    for name in ("orderflow-egress-kafka", "orderflow-egress-postgres", "orderflow-egress-dns"):
        [rule] = one(docs, "NetworkPolicy", name)["spec"]["egress"]
        assert rule.get("to"), f"{name} allows its ports to any address"


@pytest.mark.parametrize(("overlay", "service"), CASES)
def test_ingress_is_its_http_port_only(overlay: str, service: str) -> None:
    docs = rendered(overlay)
    labels = pod_labels(one(docs, "Deployment", f"orderflow-{service}"))
    allowed = [ports(r) for r in rules(policies_of(docs, labels, "Ingress"), "Ingress")]
    assert allowed and set().union(*allowed) == {HTTP_PORTS[service]}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_provisioning_job_reaches_postgres_and_dns_only(overlay: str) -> None:
    docs = rendered(overlay)
    [job] = of_kind(docs, "Job")
    allowed = [ports(r) for r in rules(policies_of(docs, pod_labels(job), "Egress"), "Egress")]
    assert set().union(*allowed) == {DNS, POSTGRES}
    assert not rules(policies_of(docs, pod_labels(job), "Ingress"), "Ingress")
