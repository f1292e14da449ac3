"""Dashboard JSON: byte-stable, provisioned, grafanalib's gaps fixed, broken sources refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from grafanalib import core as g

from authoring import config
from authoring.profiles import COMPOSE
from generator import dashboard_json, grafana_provisioning
from generator.errors import BuildError
from generator.sources import discover

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def files(generated_files: dict[str, str]) -> dict[str, str]:
    """The dashboards and their provisioning, as the build writes them."""
    return {
        path: text
        for path, text in generated_files.items()
        if path.startswith(("grafana/dashboards/", "grafana/provisioning/d"))
    }


def test_writes_one_json_per_module_and_the_provisioning(files: dict[str, str]) -> None:
    modules = sorted(discover().dashboards)
    assert modules, "no dashboard modules found"
    assert sorted(files) == sorted(
        [f"grafana/dashboards/{name}.json" for name in modules]
        + [
            "grafana/provisioning/dashboards/bikewatch.yaml",
            "grafana/provisioning/datasources/datasources.yaml",
        ]
    )


def test_json_is_sorted_indented_with_trailing_newline(files: dict[str, str]) -> None:
    for path, text in files.items():
        if path.endswith(".json"):
            assert (
                text
                == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
            )


def test_no_nulls_and_no_grafanalib_legacy_keys(files: dict[str, str]) -> None:
    for path, text in files.items():
        if not path.endswith(".json"):
            continue
        data = json.loads(text)
        for key in ("rows", "style", "hideControls", "sharedCrosshair", "__inputs"):
            assert key not in data
        for panel in data["panels"]:
            assert "span" not in panel and "error" not in panel
            for target in panel.get("targets", []):
                assert "query" not in target and "step" not in target
                assert target["range"] is not target["instant"]
        # The only nulls allowed: the base threshold step, as Grafana writes it.
        assert text.count("null") == text.count('"value": null')


def test_datasource_provisioning(files: dict[str, str]) -> None:
    provisioned = yaml.safe_load(files["grafana/provisioning/datasources/datasources.yaml"])
    by_uid = {d["uid"]: d for d in provisioned["datasources"]}
    prometheus = by_uid[config.PROMETHEUS_DATASOURCE_UID]
    assert prometheus["type"] == "prometheus"
    assert prometheus["url"] == f"http://{COMPOSE.prometheus}" == "http://prometheus:9090"
    assert prometheus["isDefault"] is True
    alertmanager = by_uid[config.ALERTMANAGER_DATASOURCE_UID]
    assert alertmanager["type"] == "alertmanager"
    assert alertmanager["url"] == "http://alertmanager:9093"
    assert alertmanager["jsonData"]["implementation"] == "prometheus"


def test_dashboard_provider_points_at_the_mounted_folder(files: dict[str, str]) -> None:
    provider = yaml.safe_load(files["grafana/provisioning/dashboards/bikewatch.yaml"])
    (entry,) = provider["providers"]
    assert entry["type"] == "file"
    assert entry["options"] == {
        "path": grafana_provisioning.MOUNTED_DASHBOARDS_DIR,
        "foldersFromFilesStructure": False,
    }
    assert entry["allowUiUpdates"] is False
    assert entry["folder"]
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    mount = (
        f"./generated/{dashboard_json.DASHBOARDS_DIR}:{grafana_provisioning.MOUNTED_DASHBOARDS_DIR}"
    )
    assert mount in compose


def test_compile_sets_uid_schema_version_and_ids() -> None:
    panel = g.TimeSeries(title="t", gridPos=g.GridPos(h=1, w=1, x=0, y=0))
    data = dashboard_json.compile_dashboard(
        "some_board", g.Dashboard(title="x", panels=[panel, panel])
    )
    assert data["uid"] == "bikewatch-some-board"
    assert data["schemaVersion"] == config.GRAFANA_SCHEMA_VERSION
    assert [p["id"] for p in data["panels"]] == [1, 2]


def test_a_hand_set_uid_is_refused() -> None:
    with pytest.raises(ValueError, match="derived from the module name"):
        dashboard_json.compile_dashboard("some_board", g.Dashboard(title="x", uid="mine"))


def _broken_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> str:
    """A package holding one dashboard module, `broken`; its name is unique to this test."""
    name = "broken_" + "".join(c if c.isalnum() else "_" for c in tmp_path.name)
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text('"""Broken sources."""\n')
    (package / "broken.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("x = 1\n", "must export `dashboard`"),
        (
            "from authoring import promql\nfrom api.metrics import MODEL_RMSE\n"
            "dashboard = promql.rate(MODEL_RMSE)\n",
            "TypeError: rate() of gauge",
        ),
        ("import nonexistent_module_for_test\n", "ModuleNotFoundError"),
    ],
)
def test_a_source_that_does_not_build_is_a_build_error_naming_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, reason: str
) -> None:
    package = _broken_package(tmp_path, monkeypatch, source)
    with pytest.raises(BuildError) as raised:
        discover(dashboards_package=package)
    assert f"{package}/broken.py: " in str(raised.value)
    assert reason in str(raised.value)
    assert "\n" not in str(raised.value)
