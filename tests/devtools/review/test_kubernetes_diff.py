"""The review diff of generated/kubernetes/: objects by kind and name, field by field, embedded
dashboards and rule groups named rather than repeated."""

from __future__ import annotations

import pytest

from devtools.review import diff_trees, render
from generator.generate import build_all


@pytest.fixture(scope="module")
def fresh() -> dict[str, str]:
    return build_all()


def _edit(files: dict[str, str], path: str, old: str, new: str) -> dict[str, str]:
    assert old in files[path], f"{path} no longer holds {old!r}: update this test"
    return {**files, path: files[path].replace(old, new, 1)}


def test_changed_objects_are_named_by_kind_and_name(fresh: dict[str, str]) -> None:
    after = _edit(fresh, "kubernetes/deployment-bike-api.yaml", "replicas: 3", "replicas: 5")
    after = _edit(
        after, "kubernetes/deployment-bike-api.yaml", "value: /reports", "value: /var/reports"
    )
    after = _edit(after, "kubernetes/prometheusrule-bike-api-alerts.yaml", "for: 1m", "for: 2m")
    after = _edit(
        after,
        "kubernetes/configmap-bikewatch-dashboard-api-performance.yaml",
        '"refresh": "30s"',
        '"refresh": "1m"',
    )
    after = _edit(
        after,
        "kubernetes/configmap-bikewatch-grafana-alerting.yaml",
        "repeat_interval: 1m",
        "repeat_interval: 5m",
    )
    del after["kubernetes/servicemonitor-bike-api.yaml"]
    text = render(diff_trees(fresh, after), "text")
    for line in [
        "Kubernetes Deployment `bike-api` (changed)",
        "  ~ `spec.replicas`: `3` → `5`",
        "  ~ `spec.template.spec.containers[bike-api].env[REPORTS_DIR].value`: "
        "`/reports` → `/var/reports`",
        "Kubernetes PrometheusRule `bike-api-alerts` (changed)",
        "  ~ rule group `bike-api-alerts` changed (reviewed in its rule group above)",
        "  ~ `data.api_performance.json` changed (dashboard `API Performance`, see above)",
        "  ~ `data.policies.yaml: policies[bikewatch-alertmanager].repeat_interval`: `1m` → `5m`",
        "Kubernetes ServiceMonitor `bike-api` (removed) — "
        "generated/kubernetes/servicemonitor-bike-api.yaml",
    ]:
        assert line in text, f"{line!r} not in:\n{text}"
    assert "5 sections: 4 changed, 1 removed" in text


def test_a_new_object_is_one_added_section(fresh: dict[str, str]) -> None:
    before = {p: t for p, t in fresh.items() if p != "kubernetes/cronjob-bike-api-monitor.yaml"}
    before["kubernetes/kustomization.yaml"] = fresh["kubernetes/kustomization.yaml"]
    report = diff_trees(before, fresh)
    (section,) = report.sections
    assert (section.kind, section.name, section.status) == (
        "Kubernetes CronJob",
        "bike-api-monitor",
        "added",
    )
