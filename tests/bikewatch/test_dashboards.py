"""The dashboards producer: byte-stable output, provisioning, fixes, refusal of broken sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from grafanalib import core as g

from bikewatch import config, dashboards, generate
from bikewatch.profiles import COMPOSE

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ROOT / "generated"
DASHBOARD_NAMES = (
    "api_performance",
    "infrastructure_overview",
    "ml_api_overview",
    "model_performance",
)


@pytest.fixture(scope="module")
def files() -> dict[str, str]:
    return dashboards.outputs()


def test_writes_one_json_per_module_and_the_provisioning(files: dict[str, str]) -> None:
    assert sorted(files) == sorted(
        [f"grafana/dashboards/{name}.json" for name in DASHBOARD_NAMES]
        + [
            "grafana/provisioning/dashboards/bikewatch.yaml",
            "grafana/provisioning/datasources/datasources.yaml",
        ]
    )


def test_two_builds_are_byte_identical(files: dict[str, str]) -> None:
    assert dashboards.outputs() == files


def test_json_is_sorted_indented_with_trailing_newline(files: dict[str, str]) -> None:
    for path, text in files.items():
        if path.endswith(".json"):
            assert (
                text
                == json.dumps(json.loads(text), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
            )


def test_snapshot_matches_committed_generated_tree(files: dict[str, str]) -> None:
    # generated/ is the golden; it changes only through `make generate`.
    stale = [
        path
        for path, text in files.items()
        if not (GENERATED / path).is_file()
        or (GENERATED / path).read_text(encoding="utf-8") != text
    ]
    assert stale == [], f"generated/ is stale for {stale}: run `make generate`"


def test_build_all_includes_the_dashboards(files: dict[str, str]) -> None:
    everything = generate.build_all()
    assert {path: everything[path] for path in files} == files


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
        "path": dashboards.MOUNTED_DASHBOARDS_DIR,
        "foldersFromFilesStructure": False,
    }
    assert entry["allowUiUpdates"] is False
    assert entry["folder"]
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert f"./generated/{dashboards.DASHBOARDS_DIR}:{dashboards.MOUNTED_DASHBOARDS_DIR}" in compose


def test_compile_sets_uid_schema_version_and_ids() -> None:
    panel = g.TimeSeries(title="t", gridPos=g.GridPos(h=1, w=1, x=0, y=0))
    data = dashboards.compile_dashboard("some_board", g.Dashboard(title="x", panels=[panel, panel]))
    assert data["uid"] == "bikewatch-some-board"
    assert data["schemaVersion"] == config.GRAFANA_SCHEMA_VERSION
    assert [p["id"] for p in data["panels"]] == [1, 2]


def test_a_hand_set_uid_is_refused() -> None:
    with pytest.raises(ValueError, match="derived from the module name"):
        dashboards.compile_dashboard("some_board", g.Dashboard(title="x", uid="mine"))


def _broken_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> str:
    """A package holding one dashboard module, `broken`; its name is unique to this test."""
    name = "broken_" + "".join(c if c.isalnum() else "_" for c in tmp_path.name)
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text('"""Broken sources."""\n')
    (package / "broken.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(dashboards, "PACKAGE", name)
    return name


OVERLAPPING = """
import attr
from grafanalib import core as g
from api.metrics import MODEL_RMSE
from bikewatch import promql
from bikewatch.grafana import Unit, dashboard, query, stat

_p = stat("RMSE", "Error.", Unit.NONE, query(promql.sel(MODEL_RMSE)))
dashboard = attr.evolve(
    dashboard("Broken", "Overlapping panels.", []),
    panels=[
        attr.evolve(_p, gridPos=g.GridPos(h=4, w=12, x=0, y=0)),
        attr.evolve(_p, gridPos=g.GridPos(h=4, w=12, x=0, y=0)),
    ],
)
"""


def test_generate_fails_with_one_line_and_leaves_the_folder_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _broken_package(tmp_path, monkeypatch, OVERLAPPING)
    out = tmp_path / "generated"
    out.mkdir()
    (out / "keep.txt").write_text("previous build\n")

    assert generate.main(["--out", str(out)]) == 1

    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("generate: error: grid: broken: panel 2 'RMSE': gridPos")
    assert "overlaps panel 1 'RMSE'" in err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert (out / "keep.txt").read_text() == "previous build\n"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("x = 1\n", "must export `dashboard`"),
        (
            "from bikewatch import promql\nfrom api.metrics import MODEL_RMSE\n"
            "dashboard = promql.rate(MODEL_RMSE)\n",
            "TypeError: rate() of gauge",
        ),
        ("import nonexistent_module_for_test\n", "ModuleNotFoundError"),
    ],
)
def test_a_source_that_does_not_build_is_a_build_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, reason: str
) -> None:
    package = _broken_package(tmp_path, monkeypatch, source)
    with pytest.raises(generate.BuildError) as raised:
        dashboards.outputs()
    assert str(raised.value).startswith(f"{package}.broken: ")
    assert reason in str(raised.value)
    assert "\n" not in str(raised.value)
