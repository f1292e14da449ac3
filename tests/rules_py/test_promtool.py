"""The generated Prometheus and Alertmanager files, checked by their own tools (promtool, amtool).

CI installs Debian's `prometheus` and `prometheus-alertmanager` (`make system-deps`); a missing
tool fails these tests rather than skipping them.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from authoring.profiles import COMPOSE, LOCAL
from authoring.rules_dsl import RuleGroup, parse_duration
from generator.generate import write
from generator.sources import discover
from generator.stack_configs import render_alertmanager_config, render_prometheus_config


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is not installed: run `make system-deps`"
    return path


def _run(*args: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@pytest.fixture(scope="module")
def groups() -> tuple[RuleGroup, ...]:
    return discover().groups


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory, generated_files: dict[str, str]) -> Path:
    """The build's outputs written as `generated/` holds them."""
    root = tmp_path_factory.mktemp("generated")
    write(generated_files, root)
    return root


def test_check_rules_on_every_rule_file(out: Path, groups: tuple[RuleGroup, ...]) -> None:
    files = sorted((out / "prometheus/rules").glob("*.yml"))
    assert [f.stem for f in files] == sorted(g.name for g in groups)
    text = _run(_tool("promtool"), "check", "rules", *files)
    assert text.count("SUCCESS") == len(files)


def test_promtool_runs_every_generated_test_file(out: Path, groups: tuple[RuleGroup, ...]) -> None:
    files = sorted((out / "prometheus/tests").glob("*_test.yml"))
    tested = {g.name for g in groups if any(r.tests for r in g.rules)}
    # `<group>_test.yml`, and `<group>_every_<interval>_test.yml` for slower tests.
    of_group = {re.sub(r"(_every_\w+)?_test$", "", f.stem) for f in files}
    assert of_group == tested
    text = _run(_tool("promtool"), "test", "rules", *files, cwd=out)
    assert text.count("SUCCESS") == len(files)


def test_promtool_fails_a_wrong_expectation(out: Path, tmp_path: Path) -> None:
    """The generated tests can fail: moving the firing case one minute early is caught."""
    shutil.copytree(out / "prometheus", tmp_path / "prometheus")
    test_file = tmp_path / "prometheus/tests/bike-model-alerts_test.yml"
    data = yaml.safe_load(test_file.read_text())
    test, case = next(
        (t, c) for t in data["tests"] for c in t["alert_rule_test"] if c["exp_alerts"]
    )
    case["eval_time"] = f"{parse_duration(case['eval_time']) // 60 - 1}m"
    data["tests"] = [test]  # only the broken test: the staleness tests span eight days
    test_file.write_text(yaml.safe_dump(data))
    result = subprocess.run(
        [_tool("promtool"), "test", "rules", str(test_file)], capture_output=True, text=True
    )
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr


def test_every_prometheus_alert_is_tested_at_its_for_boundary(
    out: Path, groups: tuple[RuleGroup, ...]
) -> None:
    """Read back from the YAML: a firing case at T >= for:, and nothing firing one evaluation
    before (T - the file's evaluation interval)."""
    alerts = {
        r["alert"]: parse_duration(r["for"])
        for f in (out / "prometheus/rules").glob("*.yml")
        for g in yaml.safe_load(f.read_text())["groups"]
        for r in g["rules"]
        if "alert" in r
    }
    pinned: set[str] = set()
    for f in (out / "prometheus/tests").glob("*.yml"):
        data = yaml.safe_load(f.read_text())
        step = parse_duration(data["evaluation_interval"])
        for test in data["tests"]:
            cases: dict[str, dict[int, bool]] = {}
            for c in test.get("alert_rule_test", []):
                at = parse_duration(c["eval_time"])
                cases.setdefault(c["alertname"], {})[at] = bool(c["exp_alerts"])
            for name, at_times in cases.items():
                if any(
                    fired and t >= alerts[name] and at_times.get(t - step) is False
                    for t, fired in at_times.items()
                ):
                    pinned.add(name)
    assert set(alerts) == {a.name for g in groups for a in g.alerts if "prometheus" in a.backends}
    assert pinned == set(alerts)


def test_check_config_compose_with_its_rules(
    out: Path, tmp_path: Path, groups: tuple[RuleGroup, ...]
) -> None:
    # Compose mounts the rules at /etc/prometheus/rules; here they sit in the generated tree.
    profile = dataclasses.replace(COMPOSE, rules_dir=str(out / "prometheus/rules"))
    config = tmp_path / "prometheus.yml"
    config.write_text(render_prometheus_config(profile))
    text = _run(_tool("promtool"), "check", "config", config)
    assert f"SUCCESS: {len(groups)} rule files found" in text


def test_compose_config_differs_only_in_the_rules_path(out: Path) -> None:
    profile = dataclasses.replace(COMPOSE, rules_dir=str(out / "prometheus/rules"))
    mine = yaml.safe_load(render_prometheus_config(profile))
    generated = yaml.safe_load((out / "prometheus/prometheus.yml").read_text())
    assert generated["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    assert {**mine, "rule_files": None} == {**generated, "rule_files": None}


def test_check_config_local_resolves_the_generated_rules(
    out: Path, groups: tuple[RuleGroup, ...]
) -> None:
    text = _run(_tool("promtool"), "check", "config", out / "local/prometheus/prometheus.yml")
    assert f"SUCCESS: {len(groups)} rule files found" in text


@pytest.mark.parametrize(
    "path", ["alertmanager/alertmanager.yml", "local/alertmanager/alertmanager.yml"]
)
def test_amtool_accepts_alertmanager_config(out: Path, path: str) -> None:
    text = _run(_tool("amtool"), "check-config", out / path)
    assert "SUCCESS" in text


def test_alertmanager_webhook_is_the_profiles_api(groups: tuple[RuleGroup, ...]) -> None:
    for profile in (COMPOSE, LOCAL):
        config = yaml.safe_load(render_alertmanager_config(profile, groups))
        urls = [w["url"] for r in config["receivers"] for w in r.get("webhook_configs", [])]
        assert urls == [profile.alert_webhook_url]
        routed = {m for r in config["route"]["routes"] for m in r["matchers"]}
        assert routed == {'severity="critical"', 'severity="warning"', 'severity="info"'}
