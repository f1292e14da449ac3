"""The native stack's plan: configs compiled for a profile, the services and their addresses."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from authoring.profiles import LOCAL, Profile
from devtools.local import plan as local
from devtools.local.processes import StackError


def test_missing_debian_packages_are_named_with_the_command_to_install_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(StackError) as err:
        local.check_binaries()
    message = str(err.value)
    for package in local.DEBIAN_BINARIES:
        assert package in message
    assert "make system-deps" in message and "--no-install-recommends" in message


def test_configs_are_compiled_for_the_profile_with_the_generated_rules(tmp_path: Path) -> None:
    profile = Profile(
        name="t",
        api="127.0.0.1:1001",
        node_exporter="127.0.0.1:1002",
        prometheus="127.0.0.1:1003",
        alertmanager="127.0.0.1:1004",
        grafana="127.0.0.1:1005",
        scrape_interval="1s",
        evaluation_interval="2s",
    )
    rules = tmp_path / "rules"
    prometheus_path, alertmanager_path = local.render_configs(profile, tmp_path / "run", rules)
    prometheus = yaml.safe_load(prometheus_path.read_text())
    assert prometheus["global"] == {"scrape_interval": "1s", "evaluation_interval": "2s"}
    assert prometheus["rule_files"] == [f"{rules.resolve()}/*.yml"]
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"][0]
        for job in prometheus["scrape_configs"]
    }
    assert targets == profile.targets()
    alertmanager = yaml.safe_load(alertmanager_path.read_text())
    urls = [h["url"] for r in alertmanager["receivers"] for h in r["webhook_configs"]]
    assert urls == ["http://127.0.0.1:1001/alerts"]


def test_the_service_plan_binds_loopback_and_turns_clustering_off(tmp_path: Path) -> None:
    services = local.plan(LOCAL, tmp_path, Path("p.yml"), Path("a.yml"), Path("m"), Path("r"))
    assert [s.name for s in services] == ["node-exporter", "alertmanager", "bike-api", "prometheus"]
    for service in services:
        assert service.address.startswith("127.0.0.1:")
    alertmanager = next(s for s in services if s.name == "alertmanager")
    assert "--cluster.listen-address=" in alertmanager.argv
    api = next(s for s in services if s.name == "bike-api")
    assert api.ready_path == "/ready" and api.env["MODEL_DIR"] == "m"
    assert "api.train" not in api.argv


def test_grafana_provisioning_follows_the_profile(tmp_path: Path) -> None:
    profile = Profile(
        name="t",
        api="127.0.0.1:2001",
        node_exporter="127.0.0.1:2002",
        prometheus="127.0.0.1:2003",
        alertmanager="127.0.0.1:2004",
        grafana="127.0.0.1:2005",
    )
    out = local.render_grafana_provisioning(profile, tmp_path)
    kinds = {p.parent.name for p in out.rglob("*.y*ml")}
    assert kinds == {"datasources", "dashboards", "alerting"}
    datasources = [
        d
        for f in (out / "datasources").glob("*.y*ml")
        for d in yaml.safe_load(f.read_text())["datasources"]
    ]
    assert {d["url"] for d in datasources} == {"http://127.0.0.1:2003", "http://127.0.0.1:2004"}
    providers = [
        p
        for f in (out / "dashboards").glob("*.y*ml")
        for p in yaml.safe_load(f.read_text())["providers"]
    ]
    assert [p["options"]["path"] for p in providers] == [str(local.GRAFANA_DASHBOARDS)]
    contact_urls = {
        r["settings"]["url"]
        for f in (out / "alerting").glob("*.y*ml")
        for point in yaml.safe_load(f.read_text()).get("contactPoints", [])
        for r in point["receivers"]
    }
    assert contact_urls <= {"http://127.0.0.1:2004"}


def test_grafana_is_skipped_without_a_binary_and_needs_a_password_with_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert local.grafana_service(LOCAL, tmp_path) is None
    fake = tmp_path / "grafana"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.delenv("GRAFANA_ADMIN_PASSWORD", raising=False)
    with pytest.raises(StackError, match="GRAFANA_ADMIN_PASSWORD"):
        local.grafana_service(LOCAL, tmp_path)
