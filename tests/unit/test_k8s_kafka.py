"""The KafkaTopics, KafkaUsers and KEDA autoscalers of both overlays agree with the code.

Checked against the code itself (shared/topics.py and each service's events.py), not against
the generator that writes them, so a topic added in code and not regenerated (`make docs`)
fails here, and so does an ACL that misses a topic a service reads or writes.
"""

from __future__ import annotations

import pytest

from deploy import generate
from deploy.kafka_model import CLUSTER
from orderflow.shared.asyncapi import declared_services
from orderflow.shared.cli import SERVICES
from orderflow.shared.topics import DEFAULT_PARTITIONS, all_topics, dead_letter_topic
from tests.k8s_support import OVERLAYS, Doc, of_kind, one, pod_spec, rendered

READS = {s.service: set(s.reads) for s in declared_services()}
WRITES = {s.service: {o.topic for o in s.outputs()} for s in declared_services()}
# Rights a service's principal must never have: topics are KafkaTopics, not its business.
FORBIDDEN = {"Create", "Delete", "Alter", "AlterConfigs", "All", "ClusterAction"}


def test_generated_manifests_are_fresh() -> None:
    stale = [p for p, text in generate.outputs().items() if not p.exists() or p.read_text() != text]
    assert not stale, f"stale: {[str(p) for p in stale]}; run `make docs`"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_topic_in_code_is_a_kafka_topic_with_its_partitions(overlay: str) -> None:
    declared = {t.name: t.partitions for t in all_topics(tuple(SERVICES))}
    assert {"payments.inbound.v1", "ingest.payments.v1", "recurring.v1", "segments.v1"} <= set(
        declared
    )
    assert {dead_letter_topic(s) for s in SERVICES} <= set(declared)
    topics = {
        t.get("spec", {}).get("topicName", t["metadata"]["name"]): t["spec"]
        for t in of_kind(rendered(overlay), "KafkaTopic")
    }
    assert set(topics) == set(declared)
    for name, spec in topics.items():
        assert spec["partitions"] == declared[name] == DEFAULT_PARTITIONS
        assert spec["config"]["min.insync.replicas"] <= spec["replicas"]


def acl_rights(user: Doc) -> dict[tuple[str, str, str], set[str]]:
    rights: dict[tuple[str, str, str], set[str]] = {}
    for acl in user["spec"]["authorization"]["acls"]:
        assert acl.get("type", "allow") == "allow"
        r = acl["resource"]
        key = (r["type"], r.get("name", ""), r.get("patternType", "literal"))
        rights.setdefault(key, set()).update(acl["operations"])
    return rights


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_a_services_acls_are_exactly_what_it_reads_and_writes(overlay: str, service: str) -> None:
    user = one(rendered(overlay), "KafkaUser", f"orderflow-{service}")
    assert user["spec"]["authentication"]["type"] == "scram-sha-512"
    rights = acl_rights(user)
    for topic in READS[service]:
        assert "Read" in rights.get(("topic", topic, "literal"), set()), f"cannot read {topic}"
        # `orderflow dlq replay` republishes through the service's outbox to the original topic.
        assert "Write" in rights[("topic", topic, "literal")], f"cannot replay to {topic}"
    for topic in WRITES[service]:
        assert "Write" in rights.get(("topic", topic, "literal"), set()), f"cannot write {topic}"
    assert "Read" in rights.get(("group", service, "literal"), set()), "cannot use its group"
    topics = {name for kind, name, _ in rights if kind == "topic"}
    assert topics == READS[service] | WRITES[service], "rights on topics it does not use"
    assert {kind for kind, _, _ in rights} == {"topic", "group"}
    assert all(pattern == "literal" for _, _, pattern in rights)
    assert not FORBIDDEN & set().union(*rights.values())
    for (kind, topic, _), ops in rights.items():
        if kind == "topic" and topic not in READS[service]:
            assert "Read" not in ops, f"reads {topic}, which it does not consume"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_a_service_logs_in_as_its_own_kafka_user(overlay: str, service: str) -> None:
    docs = rendered(overlay)
    [container] = pod_spec(one(docs, "Deployment", f"orderflow-{service}"))["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["KAFKA_SASL_USERNAME"]["value"] == f"orderflow-{service}"
    secret = env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
    # Strimzi's User Operator writes the password to a Secret named after the KafkaUser.
    assert secret == {"name": f"orderflow-{service}", "key": "password"}
    one(docs, "KafkaUser", secret["name"])
    runtime = one(docs, "ConfigMap", "orderflow-runtime")["data"]
    assert runtime["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert runtime["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", [s for s in SERVICES if READS[s]])
def test_a_consumer_scales_on_its_groups_lag_within_the_partitions(
    overlay: str, service: str
) -> None:
    docs = rendered(overlay)
    scaled = one(docs, "ScaledObject", f"orderflow-{service}")["spec"]
    assert scaled["scaleTargetRef"]["name"] == f"orderflow-{service}"
    one(docs, "Deployment", scaled["scaleTargetRef"]["name"])
    triggers = scaled["triggers"]
    assert {t["type"] for t in triggers} == {"kafka"}
    assert {t["metadata"]["consumerGroup"] for t in triggers} == {service}
    assert {t["metadata"]["topic"] for t in triggers} == READS[service]
    partitions = {
        t["metadata"]["name"]: t["spec"]["partitions"] for t in of_kind(docs, "KafkaTopic")
    }
    assert 1 <= scaled["minReplicaCount"] <= scaled["maxReplicaCount"]
    assert scaled["maxReplicaCount"] <= min(partitions[t] for t in READS[service])
    for trigger in triggers:
        auth = one(docs, "TriggerAuthentication", trigger["authenticationRef"]["name"])["spec"]
        refs = {r["parameter"]: r for r in auth["secretTargetRef"]}
        assert refs["password"]["name"] == f"orderflow-{service}"
        assert trigger["metadata"]["offsetResetPolicy"] == "earliest"  # as the consumers start


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_kafka_cluster_is_the_one_the_services_and_policies_expect(overlay: str) -> None:
    docs = rendered(overlay)
    [kafka] = of_kind(docs, "Kafka")
    assert kafka["metadata"]["name"] == CLUSTER
    runtime = one(docs, "ConfigMap", "orderflow-runtime")["data"]
    host, _, port = runtime["KAFKA_BOOTSTRAP_SERVERS"].partition(":")
    assert host == f"{CLUSTER}-kafka-bootstrap"
    [listener] = [x for x in kafka["spec"]["kafka"]["listeners"] if x["port"] == int(port)]
    assert listener["tls"] is True and listener["authentication"]["type"] == "scram-sha-512"
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple", "ACLs not enforced"
    assert {"topicOperator", "userOperator"} <= set(kafka["spec"]["entityOperator"])
    brokers = [p for p in of_kind(docs, "KafkaNodePool") if "broker" in p["spec"]["roles"]]
    assert brokers and all(
        p["metadata"]["labels"]["strimzi.io/cluster"] == CLUSTER for p in brokers
    )
    # Strimzi labels broker pods strimzi.io/cluster and strimzi.io/broker-role: "true".
    [rule] = one(docs, "NetworkPolicy", "orderflow-egress-kafka")["spec"]["egress"]
    assert rule["to"] == [
        {
            "podSelector": {
                "matchLabels": {"strimzi.io/cluster": CLUSTER, "strimzi.io/broker-role": "true"}
            }
        }
    ]
    assert [p["port"] for p in rule["ports"]] == [int(port)]
    replicas = sum(p["spec"]["replicas"] for p in brokers)
    for topic in of_kind(docs, "KafkaTopic"):
        assert (
            topic["spec"]["config"]["min.insync.replicas"] <= topic["spec"]["replicas"] <= replicas
        )
    assert kafka["spec"]["kafka"]["config"]["min.insync.replicas"] <= replicas
