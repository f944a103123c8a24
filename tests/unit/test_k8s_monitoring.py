"""The ServiceMonitor, the alerts and the Grafana dashboard use what the services export.

The exported names come from the Prometheus registry once every service's modules are
imported, so an alert on a metric nobody exports (a typo, a rename) fails here.
"""

from __future__ import annotations

import importlib
import json
import re

import pytest
from prometheus_client import REGISTRY

from orderflow.shared.cli import SERVICES
from tests.k8s_support import OVERLAYS, Doc, labels_match, of_kind, one, rendered

NAME = re.compile(r"\borderflow_[a-z_]+\b")


def exported() -> set[str]:
    """Every sample name the services' processes can expose (counters' _total, histograms'
    _bucket/_sum/_count included)."""
    for module in SERVICES.values():
        importlib.import_module(f"orderflow.services.{module}.app")
    names: set[str] = set()
    for metric in REGISTRY.collect():
        if metric.name.startswith("orderflow_"):
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}
            names |= {metric.name + s for s in suffixes.get(metric.type, [""])}
    return names


def alert_rules(docs: list[Doc]) -> dict[str, str]:
    rule = one(docs, "PrometheusRule", "orderflow")
    return {r["alert"]: r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]}


def dashboard(docs: list[Doc]) -> dict[str, object]:
    config = one(docs, "ConfigMap", "orderflow-grafana-dashboard")
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    [text] = config["data"].values()
    loaded: dict[str, object] = json.loads(text)
    return loaded


def test_the_metrics_the_alerts_need_are_exported() -> None:
    assert {
        "orderflow_consumer_lag",
        "orderflow_outbox_pending",
        "orderflow_outbox_parked",
        "orderflow_messages_total",
        "orderflow_notifications_total",
        "orderflow_timer_lateness_seconds",
    } <= exported()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_alert_uses_exported_metrics_and_says_what_happened(overlay: str) -> None:
    rules = alert_rules(rendered(overlay))
    for alert, expr in rules.items():
        used = set(NAME.findall(expr))
        assert used and used <= exported(), f"{alert}: {sorted(used - exported())}"
    wanted = {  # the list: lag, outbox backlog and parked, dead letters, notifications
        "orderflow_consumer_lag": None,
        "orderflow_outbox_pending": None,
        "orderflow_outbox_parked": None,
        "orderflow_messages_total": 'outcome="dead_lettered"',
        "orderflow_notifications_total": 'outcome="failed"',
        "orderflow_timer_lateness_seconds": None,
    }
    for metric, selector in wanted.items():
        assert any(metric in e and (selector or "") in e for e in rules.values()), metric


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_dashboard_panel_queries_exported_metrics(overlay: str) -> None:
    board = dashboard(rendered(overlay))
    panels = board["panels"]
    assert isinstance(panels, list) and panels
    for panel in panels:
        exprs = [t["expr"] for t in panel["targets"]]
        used = {n for e in exprs for n in NAME.findall(e)}
        assert used and used <= exported(), f"{panel['title']}: {sorted(used - exported())}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_service_monitor_scrapes_every_service_on_its_http_port(overlay: str) -> None:
    docs = rendered(overlay)
    monitor = one(docs, "ServiceMonitor", "orderflow")["spec"]
    [endpoint] = monitor["endpoints"]
    assert endpoint["path"] == "/metrics"
    scraped = [
        s
        for s in of_kind(docs, "Service")
        if labels_match(monitor["selector"], s["metadata"]["labels"])
    ]
    assert {s["metadata"]["name"] for s in scraped} == {f"orderflow-{s}" for s in SERVICES}
    for service in scraped:
        assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
