"""Grafana-managed alerts: file-provisioning shape, routing, and equivalence with Prometheus."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from authoring import config
from authoring.profiles import COMPOSE
from generator import grafana_alerting as grafana
from rules_py.model import data_drift, rmse_high

ALERTING = "grafana/provisioning/alerting/"


@pytest.fixture(scope="module")
def files(generated_files: dict[str, str]) -> dict[str, str]:
    return generated_files


def _rules(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {
        r["title"]: r
        for path, text in files.items()
        if path.startswith(ALERTING)
        for g in yaml.safe_load(text).get("groups", [])
        for r in g["rules"]
    }


def test_rmse_and_drift_are_grafana_managed_on_the_provisioned_datasource(
    files: dict[str, str],
) -> None:
    rules = _rules(files)
    assert set(rules) == {rmse_high.name, data_drift.name}
    for rule in rules.values():
        query = rule["data"][0]
        assert query["datasourceUid"] == config.PROMETHEUS_DATASOURCE_UID
        assert [d["datasourceUid"] for d in rule["data"][1:]] == ["__expr__", "__expr__"]


def test_rules_are_in_the_file_provisioning_shape(files: dict[str, str]) -> None:
    """Flat rules (not the ruler API's nested `grafana_alert`) with every field Grafana reads."""
    text = files[ALERTING + "bike-model-alerts.yaml"]
    doc = yaml.safe_load(text)
    assert doc["apiVersion"] == 1 and "grafana_alert" not in text
    (group,) = doc["groups"]
    assert set(group) == {"orgId", "name", "folder", "interval", "rules"}
    for rule in group["rules"]:
        assert set(rule) == {
            "uid", "title", "condition", "data", "noDataState", "execErrState",
            "for", "labels", "annotations", "isPaused",
        }  # fmt: skip
        assert len(rule["uid"]) <= 40
        for d in rule["data"]:
            assert set(d) == {"refId", "relativeTimeRange", "datasourceUid", "model"}
            assert set(d["relativeTimeRange"]) == {"from", "to"}
        assert "$value " not in rule["annotations"]["description"]  # Grafana's is $values.B


def test_grafana_alerts_route_to_the_stacks_alertmanager(files: dict[str, str]) -> None:
    points = yaml.safe_load(files[ALERTING + "contact-points.yaml"])
    (receiver,) = points["contactPoints"][0]["receivers"]
    assert receiver["type"] == "prometheus-alertmanager"
    assert receiver["settings"]["url"] == f"http://{COMPOSE.alertmanager}"
    policy = yaml.safe_load(files[ALERTING + "policies.yaml"])["policies"][0]
    assert policy["receiver"] == points["contactPoints"][0]["name"]


def test_grafana_and_prometheus_rules_match(files: dict[str, str]) -> None:
    prom = [t for p, t in files.items() if p.startswith("prometheus/rules/")]
    graf = [t for p, t in files.items() if p.startswith(ALERTING)]
    assert grafana.equivalence_problems(prom, graf) == []


def _threshold(r: dict[str, Any]) -> None:
    r["data"][2]["model"]["conditions"][0]["evaluator"]["params"] = [99]


def _query(r: dict[str, Any]) -> None:
    r["data"][0]["model"]["expr"] = r["data"][0]["model"]["expr"].replace("bike-api", "other")


def _comparison(r: dict[str, Any]) -> None:
    r["data"][2]["model"]["conditions"][0]["evaluator"]["type"] = "lt"


def _for(r: dict[str, Any]) -> None:
    r["for"] = "5m"


@pytest.mark.parametrize(
    ("mutate", "what"),
    [(_threshold, "threshold"), (_query, "query"), (_comparison, "comparison"), (_for, "for")],
)
def test_equivalence_check_catches_a_drifted_grafana_rule(
    files: dict[str, str], mutate: Callable[[dict[str, Any]], None], what: str
) -> None:
    path = ALERTING + "bike-model-alerts.yaml"
    doc = copy.deepcopy(yaml.safe_load(files[path]))
    rule = next(r for r in doc["groups"][0]["rules"] if r["title"] == rmse_high.name)
    mutate(rule)
    prom = [t for p, t in files.items() if p.startswith("prometheus/rules/")]
    problems = grafana.equivalence_problems(prom, [yaml.safe_dump(doc)])
    assert len(problems) == 1
    assert problems[0].startswith(f"{rmse_high.name}: {what} differs"), problems


def test_conditions_use_only_what_grafana_11_2_evaluates(files: dict[str, str]) -> None:
    # Its threshold expression knows gt and lt; >= and friends are math expressions.
    for title, rule in _rules(files).items():
        condition = rule["data"][2]["model"]
        if condition["type"] == "threshold":
            types = {c["evaluator"]["type"] for c in condition["conditions"]}
            assert types <= set(grafana.THRESHOLD_TYPES.values()), title
        else:
            assert condition["type"] == "math", title
    drift = _rules(files)[data_drift.name]["data"][2]["model"]
    assert drift["expression"] == f"$B >= {config.DRIFT_SHARE_THRESHOLD}"


@pytest.mark.parametrize(
    ("before", "after", "what"),
    [(">= 0.3", ">= 0.5", "threshold"), (">= 0.3", "<= 0.3", "comparison")],
)
def test_equivalence_check_reads_math_conditions(
    files: dict[str, str], before: str, after: str, what: str
) -> None:
    path = ALERTING + "bike-model-alerts.yaml"
    doc = copy.deepcopy(yaml.safe_load(files[path]))
    rule = next(r for r in doc["groups"][0]["rules"] if r["title"] == data_drift.name)
    model = rule["data"][2]["model"]
    assert before in model["expression"]
    model["expression"] = model["expression"].replace(before, after)
    prom = [t for p, t in files.items() if p.startswith("prometheus/rules/")]
    problems = grafana.equivalence_problems(prom, [yaml.safe_dump(doc)])
    assert problems == [problems[0]] and problems[0].startswith(
        f"{data_drift.name}: {what} differs"
    ), problems
