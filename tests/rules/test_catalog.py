"""The alert catalog as compiled: names, severities, annotations, runbook links, expressions."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from api.metrics import ALL_SPECS as API_SPECS
from bikewatch import config
from bikewatch.generate import BuildError
from bikewatch.node_exporter import ALL_SPECS as NODE_SPECS
from bikewatch.profiles import COMPOSE, Profile
from bikewatch.promcheck import check_expr, known_series
from rules_py import api, compiler, final_pass, host, model, names
from rules_py.dsl import SEVERITIES, AlertingRule, RuleGroup

RULES_PY = Path(compiler.__file__).parent


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return compiler.outputs()


@pytest.fixture(scope="module")
def alerts(files: dict[str, str]) -> dict[str, dict]:
    """Prometheus alerts by name, read back from the generated rule files."""
    return {
        r["alert"]: r
        for path, text in files.items()
        if path.startswith("prometheus/rules/")
        for g in yaml.safe_load(text)["groups"]
        for r in g["rules"]
        if "alert" in r
    }


def test_the_catalog_names_every_alert_of_the_issue(alerts: dict[str, dict]) -> None:
    assert set(alerts) == set(names.ALL_ALERTS)
    assert len(names.ALL_ALERTS) == len(set(names.ALL_ALERTS)) == 14


@pytest.mark.parametrize("name", names.ALL_ALERTS)
def test_every_alert_carries_severity_annotations_and_runbook(
    alerts: dict[str, dict], name: str
) -> None:
    rule = alerts[name]
    assert rule["labels"]["severity"] in SEVERITIES
    assert rule["labels"].items() >= config.ALERT_COMMON_LABELS.items()
    notes = rule["annotations"]
    assert notes["summary"].strip() and notes["description"].strip()
    assert re.search(r"\{\{ \$(value|labels\.\w+)", notes["summary"] + notes["description"])
    base, _, anchor = notes["runbook_url"].partition("#")
    assert base == config.RUNBOOK_URL
    assert anchor in final_pass.anchors(), f"#{anchor} is not a heading of RUNBOOK.md"


def test_every_expression_parses_and_names_only_catalog_metrics(files: dict[str, str]) -> None:
    known = known_series()
    exprs = [
        r["expr"]
        for path, text in files.items()
        if path.startswith("prometheus/rules/")
        for g in yaml.safe_load(text)["groups"]
        for r in g["rules"]
    ]
    exprs += [
        d["model"]["expr"]
        for path, text in files.items()
        if path.startswith("grafana/provisioning/alerting/")
        for g in yaml.safe_load(text).get("groups", [])
        for r in g["rules"]
        for d in r["data"]
        if d["refId"] == "A"
    ]
    assert len(exprs) == 14 + 9 + 2
    assert {e: check_expr(e, known) for e in exprs if check_expr(e, known)} == {}


def test_recording_rules_follow_level_metric_operations() -> None:
    records = {r.record for r in compiler.recording_rules()}
    assert {
        "job:api_requests:rate5m",
        "job:api_requests_5xx:ratio_rate5m",
        "job:api_request_duration_seconds:p95_5m",
        "job_endpoint:api_request_duration_seconds:p95_5m",
        "job:model_inference_duration_seconds:p95_5m",
    } <= records
    assert all(re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", r) for r in records)
    assert records <= known_series()  # the lint sees them, so dashboards may use them


def test_no_metric_name_is_retyped_in_the_rule_sources() -> None:
    """Names come from the MetricSpec objects; a quoted name in rules_py would drift silently."""
    series = {n for spec in (*API_SPECS, *NODE_SPECS) for n in spec.series_names}
    for source in RULES_PY.glob("*.py"):
        text = source.read_text()
        retyped = [n for n in series if re.search(rf"[\"']{re.escape(n)}[{{\"'\[ ]", text)]
        assert retyped == [], f"{source.name} retypes {retyped}"


def test_areas_export_groups_and_nothing_runs_on_import(tmp_path: Path) -> None:
    for area in (api, model, host):
        assert isinstance(area.groups, tuple)
        assert all(isinstance(g, RuleGroup) for g in area.groups)
    # A fresh interpreter importing every area prints nothing and writes nothing.
    result = subprocess.run(
        [sys.executable, "-c", "import rules_py.api, rules_py.model, rules_py.host"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(RULES_PY.parent), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert list(tmp_path.iterdir()) == []


def test_output_is_deterministic_yaml(files: dict[str, str]) -> None:
    assert compiler.outputs() == files
    for path, text in files.items():
        assert text.endswith("\n") and "&id" not in text, path
        assert compiler.dump(yaml.safe_load(text)) == text, path


def test_final_pass_refuses_an_alert_without_a_runbook_section() -> None:
    ghost = dataclasses.replace(model.rmse_high, name="BikeGhost", runbook="")
    with pytest.raises(BuildError, match=r"^BikeGhost: runbook anchor #bikeghost is not a heading"):
        final_pass.finalize([RuleGroup("case", (ghost,))])


def test_final_pass_keeps_an_alerts_own_label_over_the_common_one() -> None:
    team = next(iter(config.ALERT_COMMON_LABELS))
    mine = dataclasses.replace(model.rmse_high, labels={team: "data-science"})
    (group,) = final_pass.finalize([RuleGroup("case", (mine,))])
    (alert,) = group.rules
    assert isinstance(alert, AlertingRule)
    assert alert.labels[team] == "data-science"
    assert alert.annotations["runbook_url"].endswith("#bikemodelrmsehigh")


def test_runbook_sections_all_belong_to_an_alert() -> None:
    sections = final_pass.anchors() - {"bikewatch-runbook", "api", "model", "host"}
    assert sections == {n.lower() for n in names.ALL_ALERTS}


def test_configs_render_for_any_profile() -> None:
    """The end-to-end test renders its own ports and intervals from the same code."""
    profile = Profile(
        name="e2e",
        api="127.0.0.1:18080",
        node_exporter="127.0.0.1:19100",
        prometheus="127.0.0.1:19090",
        alertmanager="127.0.0.1:19093",
        grafana="127.0.0.1:13000",
        scrape_interval="1s",
        evaluation_interval="1s",
        rules_dir="/tmp/rules",
    )
    prom = yaml.safe_load(compiler.render_prometheus_config(profile))
    assert prom["global"] == {"scrape_interval": "1s", "evaluation_interval": "1s"}
    assert prom["rule_files"] == ["/tmp/rules/*.yml"]
    assert {j["job_name"]: j["static_configs"][0]["targets"] for j in prom["scrape_configs"]} == {
        job: [target] for job, target in profile.targets().items()
    }
    assert prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "127.0.0.1:19093"
    ]
    am = yaml.safe_load(compiler.render_alertmanager_config(profile))
    assert am["receivers"][0]["webhook_configs"][0]["url"] == "http://127.0.0.1:18080/alerts"
    assert compiler.render_prometheus_config(COMPOSE) != compiler.render_prometheus_config(profile)
