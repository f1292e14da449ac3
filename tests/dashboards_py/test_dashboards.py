"""The real dashboards: the content the spec asks for, clean lint, lossless typed round trip.

Titles are pinned only where the brief names the panels (the ML API Overview's eight, the
exam's evaluation scores); any other panel can be renamed with `make generate` alone.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest

from api.metrics import (
    API_ACTIVE_REQUESTS,
    MODEL_DRIFTED_FEATURES_RATIO,
    MODEL_FEATURE_DRIFT_SCORE,
    MODEL_LAST_EVALUATION_TIMESTAMP,
    MODEL_LIVE_DRIFTED_FEATURES_RATIO,
    MODEL_LOADED,
    MODEL_MAE,
    MODEL_MAPE,
    MODEL_PREDICTED_RENTALS,
    MODEL_R2,
    MODEL_REGISTRY_VERSION,
    MODEL_RETRAINING_DECISIONS,
    MODEL_RETRAINING_TRIGGERS,
    MODEL_RETRAINING_TRIGGERS_PENDING,
    MODEL_RMSE,
    RETRAIN_FLOW_DURATION,
    RETRAIN_FLOW_HOLDOUT_RMSE,
    RETRAIN_FLOW_LAST_SUCCESS,
    RETRAIN_FLOW_RUNS,
    RETRAIN_SPECS,
)
from authoring import catalog, config, node_exporter
from authoring.house_style import DATASOURCE, GRID_COLUMNS
from generator import dashboard_json, dashboard_lint
from generator.sources import discover
from rules_py.api import REQUEST_ERROR_RATIO, REQUEST_LATENCY

ROOT = Path(__file__).resolve().parents[2]
# The dashboards the project's spec asks for; more may be added without touching this test.
REQUIRED = ("api_performance", "infrastructure_overview", "ml_api_overview", "model_performance")
NAMES = tuple(sorted(discover().dashboards))


@pytest.fixture(scope="module")
def built() -> dict[str, dict[str, Any]]:
    sources = discover()
    return dashboard_json.compile_all(sources.dashboards, sources.origins)


@pytest.fixture(scope="module")
def known() -> set[str]:
    return dashboard_lint.known_series(discover())


def _panels(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in data["panels"] if p["type"] != "row"]


def _exprs(data: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in _panels(data) for t in p["targets"]]


def test_the_required_dashboards_are_there(built: dict[str, dict[str, Any]]) -> None:
    assert set(REQUIRED) <= set(built)


@pytest.mark.parametrize("name", NAMES)
def test_lint_is_clean(name: str, built: dict[str, dict[str, Any]], known: set[str]) -> None:
    assert [str(f) for f in dashboard_lint.lint({name: built[name]}, known)] == []


@pytest.mark.parametrize("name", NAMES)
def test_typed_round_trip_loses_nothing(name: str, built: dict[str, dict[str, Any]]) -> None:
    data = built[name]
    after = dashboard_lint.round_trip(data)
    assert list(dashboard_lint.lost_keys(data, after)) == []
    assert after["schemaVersion"] == config.GRAFANA_SCHEMA_VERSION


@pytest.mark.parametrize("name", NAMES)
def test_grid_never_overlaps(name: str, built: dict[str, dict[str, Any]]) -> None:
    cells: set[tuple[int, int]] = set()
    for panel in built[name]["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= GRID_COLUMNS
        mine = {
            (x, y)
            for x in range(pos["x"], pos["x"] + pos["w"])
            for y in range(pos["y"], pos["y"] + pos["h"])
        }
        assert not mine & cells, panel["title"]
        cells |= mine


@pytest.mark.parametrize("name", NAMES)
def test_identity_and_house_style(name: str, built: dict[str, dict[str, Any]]) -> None:
    data = built[name]
    assert data["uid"] == "bikewatch-" + name.replace("_", "-")
    assert data["schemaVersion"] == config.GRAFANA_SCHEMA_VERSION
    assert data["refresh"] == config.DASHBOARD_REFRESH
    ids = [p["id"] for p in data["panels"]]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) and i > 0 for i in ids)
    for panel in _panels(data):
        assert panel["title"] and panel["description"] and panel["fieldConfig"]["defaults"]["unit"]
        assert panel["datasource"] == DATASOURCE
        assert all(t["datasource"] == DATASOURCE for t in panel["targets"])


def _titles(data: dict[str, Any]) -> set[str]:
    return {p["title"] for p in _panels(data)}


def test_api_performance_content(built: dict[str, dict[str, Any]]) -> None:
    data = built["api_performance"]
    exprs = _exprs(data)
    assert any("by (endpoint)" in e for e in exprs)
    assert any("by (status_code)" in e for e in exprs)
    assert any('status_code=~"4.."' in e for e in exprs)
    assert any('status_code=~"5.."' in e for e in exprs)
    # The p99 drawn against the alert limit is the serving path's (recording rule), as alerted.
    assert f'{REQUEST_LATENCY[0.99].record}{{job="{config.API_JOB}"}}' in exprs
    assert f'{REQUEST_ERROR_RATIO.record}{{job="{config.API_JOB}"}}' in exprs
    # Ratios leave out scrapes and probes, like the alert's recording rule.
    ratios = [e for e in exprs if "status_code=~" in e]
    assert ratios and all(config.API_PROBE_ENDPOINTS in e for e in ratios)
    assert any(API_ACTIVE_REQUESTS.name in e for e in exprs)
    assert all(f'job="{config.API_JOB}"' in e for e in exprs)


def test_model_performance_content(built: dict[str, dict[str, Any]]) -> None:
    data = built["model_performance"]
    assert data["title"] == "Model Performance & Drift"
    # The exam's evaluation scores, by name.
    assert {"RMSE", "MAE", "R²", "MAPE"} <= _titles(data)
    exprs = _exprs(data)
    last = f'{MODEL_LAST_EVALUATION_TIMESTAMP.name}{{job="{config.API_JOB}"}}'
    # Read over a lookback so a restart (the gauge absent until the next evaluation) does not
    # hide the age.
    latest = f"max_over_time({last}[{config.EVALUATION_LOOKBACK}])"
    assert f"time() - max without (instance, pod) ({latest})" in exprs
    assert any(MODEL_FEATURE_DRIFT_SCORE.name in e for e in exprs)
    assert any(MODEL_PREDICTED_RENTALS.bucket in e and "by (le)" in e for e in exprs)
    assert any(MODEL_RETRAINING_DECISIONS.name in e and "by (decision, reason)" in e for e in exprs)


def _row(data: dict[str, Any], title: str) -> list[dict[str, Any]]:
    """The panels under the row titled `title` (rows are flat: a row owns what follows it)."""
    panels: list[dict[str, Any]] = []
    inside = False
    for panel in data["panels"]:
        if panel["type"] == "row":
            inside = panel["title"] == title
        elif inside:
            panels.append(panel)
    return panels


def test_every_evaluation_panel_shows_one_value_across_replicas(
    built: dict[str, dict[str, Any]],
) -> None:
    """The evaluation's gauges are read across replicas (they follow the same evaluation in the
    registry): one value per panel query, never one per replica."""
    evaluation = {
        spec.name
        for spec in (MODEL_RMSE, MODEL_MAE, MODEL_R2, MODEL_MAPE, MODEL_DRIFTED_FEATURES_RATIO)
    }
    for panel in _row(built["model_performance"], "Latest evaluation"):
        for target in panel["targets"]:
            if any(name in target["expr"] for name in evaluation):
                assert target["expr"].startswith("max without (instance, pod) ("), target


def test_model_performance_shows_version_skew_across_replicas(
    built: dict[str, dict[str, Any]],
) -> None:
    panels = {p["title"]: p for p in _row(built["model_performance"], "Replicas")}
    (versions,) = panels["Versions served"]["targets"]
    assert versions["expr"] == (
        "count without (registry_version) (count_values without (instance, pod) "
        f'("registry_version", {MODEL_REGISTRY_VERSION.name}{{job="{config.API_JOB}"}}))'
    )
    (each,) = panels["Registry version by replica"]["targets"]
    assert each["expr"].startswith("max by (namespace, job, instance, pod) (") and each[
        "legendFormat"
    ] == ("{{instance}}")


def test_model_performance_has_a_retraining_row(built: dict[str, dict[str, Any]]) -> None:
    panels = _row(built["model_performance"], "Retraining")
    exprs = [t["expr"] for p in panels for t in p["targets"]]
    worker = f'job="{config.RETRAIN_WORKER_JOB}"'
    api = f'job="{config.API_JOB}"'
    # Runs by outcome over the picked range; the duration's quantiles from the histogram.
    assert any(RETRAIN_FLOW_RUNS.name in e and "by (outcome)" in e for e in exprs)
    assert sum(RETRAIN_FLOW_DURATION.bucket in e and "histogram_quantile" in e for e in exprs) == 2
    assert any(RETRAIN_FLOW_LAST_SUCCESS.name in e and e.startswith("time() - ") for e in exprs)
    assert any(RETRAIN_FLOW_HOLDOUT_RMSE.name in e for e in exprs)
    assert any(MODEL_RETRAINING_TRIGGERS.name in e and "by (outcome)" in e for e in exprs)
    assert any(MODEL_RETRAINING_TRIGGERS_PENDING.name in e for e in exprs)
    # The flow's metrics are the retrain worker's; the triggers are the API's.
    retrain_names = {n for spec in RETRAIN_SPECS for n in spec.series_names}
    for expr in exprs:
        reads_worker = any(n in expr for n in retrain_names)
        assert (worker if reads_worker else api) in expr, expr


def test_infrastructure_has_an_instance_variable_fed_by_node_exporter_up(
    built: dict[str, dict[str, Any]],
) -> None:
    data = built["infrastructure_overview"]
    (variable,) = data["templating"]["list"]
    assert variable["name"] == "instance"
    assert variable["query"] == (
        f'label_values({node_exporter.UP.name}{{job="{config.NODE_JOB}"}}, instance)'
    )
    assert variable["datasource"] == DATASOURCE
    exprs = _exprs(data)
    # Every host panel follows the picked instance; the containers row is cAdvisor's.
    host = [e for e in exprs if f'job="{config.CADVISOR_JOB}"' not in e]
    assert host and all('instance="$instance"' in e for e in host)
    for spec in (node_exporter.CPU_SECONDS, node_exporter.LOAD15, node_exporter.DISK_IO_TIME):
        assert any(spec.name in e for e in exprs), spec.name


def test_ml_api_overview_has_the_eight_panels_and_the_live_drift(
    built: dict[str, dict[str, Any]],
) -> None:
    data = built["ml_api_overview"]
    assert len(_panels(data)) == 9
    assert _titles(data) == {
        "API status",
        "Model status",
        "Request rate",
        "Latency p50 / p95 / p99",
        "Inference time p50 / p95 / p99",
        "Prediction distribution",
        "Error rate (5xx)",
        "Active requests",
        "Live input drift",
    }
    exprs = _exprs(data)
    api = f'{{job="{config.API_JOB}"}}'
    # Replicas up (a count), the most drifted replica's window, and a model on every replica.
    assert f"sum without (instance, pod) ({node_exporter.UP.name}{api})" in exprs
    assert f"max without (instance, pod) ({MODEL_LIVE_DRIFTED_FEATURES_RATIO.name}{api})" in exprs
    assert f"min without (instance, pod) ({MODEL_LOADED.name}{api})" in exprs


def test_no_source_retypes_a_metric_name(known: set[str]) -> None:
    # Metric names are typed once, in the catalogs; dashboards reach them through MetricSpecs.
    names = known | {s.name for s in catalog.ALL_SPECS}
    # `up` is also an English word (a state's text); every other name has an underscore.
    names = {n for n in names if "_" in n}
    word = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
    for source in sorted((ROOT / "dashboards_py").glob("*.py")):
        strings = [
            node.value
            for node in ast.walk(ast.parse(source.read_text(encoding="utf-8")))
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        ]
        retyped = {w for s in strings for w in word.findall(s)} & names
        assert not retyped, f"{source.name} retypes {sorted(retyped)}"


def test_a_panel_shown_on_several_dashboards_is_the_same_everywhere(
    built: dict[str, dict[str, Any]],
) -> None:
    # Panels with the same queries are one panel repeated (_shared_panels.py): apart from
    # where it sits and, on the overview, the brief's title, nothing may differ between copies.
    def identity(panel: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        return tuple((t["expr"], t.get("legendFormat", "")) for t in panel["targets"])

    def content(panel: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in panel.items() if k not in {"id", "gridPos", "title"}}

    copies: dict[tuple[tuple[str, str], ...], list[tuple[str, dict[str, Any]]]] = {}
    for name, data in built.items():
        for panel in _panels(data):
            copies.setdefault(identity(panel), []).append((name, panel))
    shared = {key: found for key, found in copies.items() if len({n for n, _ in found}) > 1}
    assert shared, "the ML API Overview borrows panels from the other dashboards"
    for found in shared.values():
        (first_name, first), *others = found
        for name, panel in others:
            assert content(panel) == content(first), (first_name, name, first["title"])


def test_panels_of_evaluation_scores_say_why_they_may_be_empty(
    built: dict[str, dict[str, Any]],
) -> None:
    """The scores are absent until an evaluation, the registry version until one is served:
    "No data" must explain itself."""
    absent = {s.name for s in catalog.ALL_SPECS if s.absent_until_set}
    for name, data in built.items():
        for panel in _panels(data):
            if any(n in e for e in (t["expr"] for t in panel["targets"]) for n in absent):
                assert "No data until " in panel["description"], (name, panel["title"])
