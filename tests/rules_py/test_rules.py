"""The alert catalog as compiled: names, severities, annotations, runbook links, expressions,
and the contracts other parts of the stack rely on (retraining labels, inhibition, twins)."""

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
from api.metrics import RETRAIN_SPECS
from api.retraining import decide
from authoring import catalog, config
from authoring.profiles import COMPOSE, LOCAL, Profile
from authoring.rules_dsl import SEVERITIES, AlertingRule, RuleGroup
from generator import runbook
from generator.errors import BuildError
from generator.promcheck import check_expr, known_series
from generator.sources import discover
from generator.stack_configs import render_alertmanager_config, render_prometheus_config
from generator.yaml_out import dump
from rules_py.api import api_down
from rules_py.model import data_drift, rmse_high

ROOT = Path(__file__).resolve().parents[2]
RULES_PY = ROOT / "rules_py"


@pytest.fixture(scope="module")
def groups() -> tuple[RuleGroup, ...]:
    return discover().groups


@pytest.fixture(scope="module")
def alert_rules(groups: tuple[RuleGroup, ...]) -> dict[str, AlertingRule]:
    return {a.name: a for g in groups for a in g.alerts}


@pytest.fixture(scope="module")
def alerts(generated_files: dict[str, str]) -> dict[str, dict]:
    """Prometheus alerts by name, read back from the generated rule files."""
    return {
        r["alert"]: r
        for path, text in generated_files.items()
        if path.startswith("prometheus/rules/")
        for g in yaml.safe_load(text)["groups"]
        for r in g["rules"]
        if "alert" in r
    }


def test_every_source_alert_is_compiled(
    alerts: dict[str, dict], alert_rules: dict[str, AlertingRule]
) -> None:
    assert alerts, "no alerts compiled"
    assert set(alerts) == {n for n, a in alert_rules.items() if "prometheus" in a.backends}


def test_every_alert_carries_severity_annotations_and_runbook(alerts: dict[str, dict]) -> None:
    anchors = runbook.anchors()
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in SEVERITIES, name
        assert rule["labels"].items() >= config.ALERT_COMMON_LABELS.items(), name
        notes = rule["annotations"]
        assert notes["summary"].strip() and notes["description"].strip(), name
        assert re.search(r"\{\{ \$(value|labels\.\w+)", notes["summary"] + notes["description"])
        base, _, anchor = notes["runbook_url"].partition("#")
        assert base == config.RUNBOOK_URL
        assert anchor in anchors, f"{name}: #{anchor} is not a heading of RUNBOOK.md"


def test_each_alert_name_is_typed_once_in_the_sources(alerts: dict[str, dict]) -> None:
    """Found by grepping its name: exactly one Python file outside tests holds it."""
    python = [
        p
        for layer in ("api", "authoring", "dashboards_py", "rules_py", "generator", "devtools")
        for p in (ROOT / layer).rglob("*.py")
    ]
    for name in alerts:
        holders = [p for p in python if re.search(rf"\b{name}\b", p.read_text(encoding="utf-8"))]
        assert len(holders) == 1, f"{name} is typed in {[str(p) for p in holders]}"
        assert holders[0].parent == RULES_PY, holders


def test_only_the_data_drift_alert_triggers_retraining(
    alert_rules: dict[str, AlertingRule],
) -> None:
    """The API decides on the alert's labels; the rules are what give them."""
    triggering = {
        name
        for name, alert in alert_rules.items()
        if decide(alert.all_labels, "firing")[0] == "RETRAINING_TRIGGERED"
    }
    assert triggering == {data_drift.name}
    assert decide(rmse_high.all_labels, "firing") == ("NO_ACTION", "model_quality")


def test_the_api_down_alert_mutes_the_apis_warnings(groups: tuple[RuleGroup, ...]) -> None:
    am = yaml.safe_load(render_alertmanager_config(COMPOSE, groups))
    assert am["inhibit_rules"] == [
        {
            "source_matchers": [f'alertname="{api_down.name}"'],
            "target_matchers": ['severity="warning"'],
            "equal": ["job"],
        }
    ]


def test_every_expression_parses_and_names_only_catalog_metrics(
    generated_files: dict[str, str], groups: tuple[RuleGroup, ...]
) -> None:
    known = known_series(r.record for g in groups for r in g.records)
    exprs = [
        r["expr"]
        for path, text in generated_files.items()
        if path.startswith("prometheus/rules/")
        for g in yaml.safe_load(text)["groups"]
        for r in g["rules"]
    ]
    grafana_queries = [
        d["model"]["expr"]
        for path, text in generated_files.items()
        if path.startswith("grafana/provisioning/alerting/")
        for g in yaml.safe_load(text).get("groups", [])
        for r in g["rules"]
        for d in r["data"]
        if d["refId"] == "A"
    ]
    rules = [r for g in groups for r in g.rules]
    twins = [a for g in groups for a in g.alerts if "grafana" in a.backends]
    assert len(exprs) == len(rules) and len(grafana_queries) == len(twins)
    everything = exprs + grafana_queries
    assert {e: check_expr(e, known) for e in everything if check_expr(e, known)} == {}


def test_every_selector_names_the_job_that_exposes_its_metric(
    generated_files: dict[str, str],
) -> None:
    """The API's metrics come from bike-api, the retrain flow's from the retrain worker: a
    selector without its job would match nothing, or the wrong process after a rename."""
    exprs = [
        r["expr"]
        for path, text in generated_files.items()
        if path.startswith("prometheus/rules/")
        for g in yaml.safe_load(text)["groups"]
        for r in g["rules"]
    ]
    selector = re.compile(r"\b([a-z_:]+)(\{[^}]*\})?")
    for specs, job in ((API_SPECS, config.API_JOB), (RETRAIN_SPECS, config.RETRAIN_WORKER_JOB)):
        names = {n for spec in specs for n in spec.series_names}
        wrong = [
            m.group(0)
            for expr in exprs
            for m in selector.finditer(expr)
            if m.group(1) in names and f'job="{job}"' not in (m.group(2) or "")
        ]
        assert wrong == [], f"selectors without job={job}: {wrong}"
    read = {n for expr in exprs for n in re.findall(r"[a-z_:]+", expr)}
    assert {spec.name for spec in RETRAIN_SPECS if spec.kind != "histogram"} & read


def test_the_retrain_worker_is_scraped_in_every_profile() -> None:
    for profile in (COMPOSE, LOCAL):
        assert profile.targets()[config.RETRAIN_WORKER_JOB] == profile.retrain_worker
    assert COMPOSE.retrain_worker == "retrain-worker:9400"
    assert LOCAL.retrain_worker.startswith("127.0.0.1:")


def test_recording_rules_follow_level_metric_operations(groups: tuple[RuleGroup, ...]) -> None:
    records = {r.record for g in groups for r in g.records}
    assert records
    assert all(re.fullmatch(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", r) for r in records)


def test_no_metric_name_is_retyped_in_the_rule_sources() -> None:
    """Names come from the MetricSpec objects; a quoted name in rules_py would drift silently."""
    series = catalog.series_names()
    for source in RULES_PY.glob("*.py"):
        text = source.read_text()
        retyped = [n for n in series if re.search(rf"[\"']{re.escape(n)}[{{\"'\[ ]", text)]
        assert retyped == [], f"{source.name} retypes {retyped}"


def test_rule_modules_export_groups_and_nothing_runs_on_import(tmp_path: Path) -> None:
    modules = sorted(f"rules_py.{p.stem}" for p in RULES_PY.glob("[!_]*.py"))
    assert modules
    # A fresh interpreter importing every module prints nothing and writes nothing.
    result = subprocess.run(
        [sys.executable, "-c", f"import {', '.join(modules)}"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert list(tmp_path.iterdir()) == []


def test_output_is_deterministic_yaml(generated_files: dict[str, str]) -> None:
    for path, text in generated_files.items():
        if path.startswith(("prometheus/", "alertmanager/", "grafana/provisioning/alerting")):
            assert text.endswith("\n") and "&id" not in text, path
            assert dump(yaml.safe_load(text)) == text, path


def test_final_pass_refuses_an_alert_without_a_runbook_section() -> None:
    ghost = dataclasses.replace(rmse_high, name="BikeGhost", runbook="")
    with pytest.raises(BuildError, match=r"^BikeGhost: runbook anchor #bikeghost is not a heading"):
        runbook.finalize([RuleGroup("case", (ghost,))])


def test_final_pass_keeps_an_alerts_own_label_over_the_common_one() -> None:
    team = next(iter(config.ALERT_COMMON_LABELS))
    mine = dataclasses.replace(rmse_high, labels={team: "data-science"})
    (group,) = runbook.finalize([RuleGroup("case", (mine,))])
    (alert,) = group.rules
    assert isinstance(alert, AlertingRule)
    assert alert.labels[team] == "data-science"
    assert alert.annotations["runbook_url"].endswith("#bikemodelrmsehigh")


def test_runbook_sections_all_belong_to_an_alert(alert_rules: dict[str, AlertingRule]) -> None:
    sections = runbook.anchors() - {"bikewatch-runbook", "api", "model", "host"}
    assert sections == {n.lower() for n in alert_rules}


def test_configs_render_for_any_profile(groups: tuple[RuleGroup, ...]) -> None:
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
    prom = yaml.safe_load(render_prometheus_config(profile))
    assert prom["global"] == {"scrape_interval": "1s", "evaluation_interval": "1s"}
    assert prom["rule_files"] == ["/tmp/rules/*.yml"]
    assert {j["job_name"]: j["static_configs"][0]["targets"] for j in prom["scrape_configs"]} == {
        job: [target] for job, target in profile.targets().items()
    }
    assert prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "127.0.0.1:19093"
    ]
    am = yaml.safe_load(render_alertmanager_config(profile, groups))
    assert am["receivers"][0]["webhook_configs"][0]["url"] == "http://127.0.0.1:18080/alerts"
    assert render_prometheus_config(COMPOSE) != render_prometheus_config(profile)
