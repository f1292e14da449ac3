"""The dashboard lint: finding format, typed round trip, variable queries, and its CLI."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from api.metrics import API_REQUESTS
from generator import dashboard_json, dashboard_lint
from generator.dashboard_lint import Finding
from generator.sources import Sources, discover


@pytest.fixture(scope="module")
def board(sources: Sources) -> dict[str, Any]:
    name = "infrastructure_overview"
    return dashboard_json.compile_dashboard(name, sources.dashboards[name])


def lint(dashboards: dict[str, dict[str, Any]]) -> list[Finding]:
    return dashboard_lint.lint(dashboards, dashboard_lint.known_series(discover()))


def _rules(name: str, data: dict[str, Any]) -> set[str]:
    return {f.rule for f in lint({name: data})}


def test_finding_names_rule_dashboard_panel_and_reason() -> None:
    finding = Finding("unit", "api_performance", "panel 3 'p95 latency'", "panel has no unit")
    assert str(finding) == "unit: api_performance: panel 3 'p95 latency': panel has no unit"


def test_a_dashboard_level_unknown_key_is_found(board: dict[str, Any]) -> None:
    broken = copy.deepcopy(board)
    broken["style"] = "dark"
    findings = lint({"infrastructure_overview": broken})
    assert [str(f) for f in findings] == [
        "unknown-key: infrastructure_overview: -: style is unknown to Grafana's model"
    ]


def test_an_undecodable_dashboard_is_a_finding(board: dict[str, Any]) -> None:
    broken = copy.deepcopy(board)
    broken["panels"][1]["datasource"] = None
    assert "unknown-key" in _rules("infrastructure_overview", broken)


def test_lost_keys_reports_dropped_and_changed_values() -> None:
    before = {"a": 1, "b": {"c": [1, {"d": 2}]}, "e": "x"}
    after = {"a": 1, "b": {"c": [1, {}]}, "e": "y"}
    assert list(dashboard_lint.lost_keys(before, after)) == [
        "b.c[1].d is unknown to Grafana's model (dropped)",
        "e changed from 'x' to 'y'",
    ]


def test_variable_queries_are_checked(board: dict[str, Any]) -> None:
    broken = copy.deepcopy(board)
    broken["templating"]["list"][0]["query"] = 'label_values(nodes_up{job="x"}, instance)'
    findings = lint({"infrastructure_overview": broken})
    assert [(f.rule, f.panel) for f in findings] == [("unknown-metric", "variable 'instance'")]


def test_schema_version_and_uid_are_checked(board: dict[str, Any]) -> None:
    broken = copy.deepcopy(board)
    broken["schemaVersion"] = 12
    broken["uid"] = "random"
    assert {"schema-version", "uid"} <= _rules("infrastructure_overview", broken)


def test_increase_over_the_whole_range_is_allowed(board: dict[str, Any]) -> None:
    ok = copy.deepcopy(board)
    ok["panels"][1]["targets"][0]["expr"] = f"sum(increase({API_REQUESTS.name}[$__range]))"
    assert _rules("infrastructure_overview", ok) == set()


def test_cli_lints_built_files(
    tmp_path: Path, board: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "infrastructure_overview.json"
    good.write_text(json.dumps(board))
    assert dashboard_lint.main([str(good)]) == 0
    broken = copy.deepcopy(board)
    del broken["panels"][1]["description"]
    bad = tmp_path / "infrastructure_overview.json"
    bad.write_text(json.dumps(broken))
    assert dashboard_lint.main([str(bad)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("description: infrastructure_overview: panel 2 'Target up': ")


def test_cli_lints_the_sources(capsys: pytest.CaptureFixture[str], sources: Sources) -> None:
    assert dashboard_lint.main([]) == 0
    assert f"{len(sources.dashboards)} dashboards, 0 findings" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("unit", "problem"),
    [
        ("suffix:rentals/h", None),
        ("s", None),
        ("suffix: rentals/h", "no space around the text"),
        ("suffix:rentals/h ", "no space around the text"),
        ("suffix:", "no text after the colon"),
        ("sufix:rentals/h", "is not one of Grafana's kinds"),
    ],
)
def test_custom_units_are_written_as_grafana_reads_them(unit: str, problem: str | None) -> None:
    problems = dashboard_lint.custom_unit_problems(unit)
    assert (problems == []) if problem is None else (problem in problems[0])
