"""The dashboards producer: compiles `dashboards_py/` into Grafana JSON and provisioning files.

Each module of `dashboards_py` exports one grafanalib `dashboard`; its module name is its file
name (`api_performance` -> `grafana/dashboards/api_performance.json`) and its uid. grafanalib
0.7.1 gaps are fixed here, once, after rendering: schemaVersion, uid, panel ids, and the keys it
still writes in pre-Grafana-8 shapes. The dashboard lint then gates the output: one finding
fails the build with a one-line reason, before anything is written.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from typing import Any

import attr
import yaml
from grafanalib import core as g
from grafanalib._gen import DashboardEncoder

from bikewatch import config, dashboard_lint
from bikewatch.generate import BuildError
from bikewatch.grafana import dashboard_uid
from bikewatch.profiles import COMPOSE

__all__ = ["PACKAGE", "build", "compile_dashboard", "dumps", "outputs"]

# The package whose modules are dashboards; tests point it at a package of broken sources.
PACKAGE = "dashboards_py"
DASHBOARDS_DIR = "grafana/dashboards"
# Where docker-compose.yml mounts generated/grafana/dashboards inside the Grafana container.
MOUNTED_DASHBOARDS_DIR = "/var/lib/grafana/dashboards"
# The Grafana folder our dashboards appear in.
GRAFANA_FOLDER = "bikewatch"

# Keys grafanalib writes that Grafana 11 no longer reads (pre-5.0 rows, Graphite targets, the
# 'dark' style). Anything else unknown is left for the lint's typed round trip to catch.
_LEGACY_DASHBOARD_KEYS = ("__inputs", "hideControls", "rows", "sharedCrosshair", "style")
# maxDataPoints is no legacy key, but grafanalib always writes 100, which draws 6 hours as coarse
# 3.6-minute steps; without it Grafana fetches one point per pixel.
_LEGACY_PANEL_KEYS = ("editable", "error", "height", "span", "minSpan", "maxDataPoints")
_LEGACY_TARGET_KEYS = ("query", "target", "metric", "step", "intervalFactor")
_ROW_KEYS = ("collapsed", "gridPos", "id", "panels", "title", "type")
# grafanalib's gauge/bar gauge still write Grafana 6 options; the helpers put the modern ones
# in extraJson, so the old copies are dropped.
_LEGACY_GAUGE_DEFAULTS = ("calcs", "limit", "override", "title", "values")
_LEGACY_GAUGE_FIELD_CONFIG = ("showThresholdLabels", "showThresholdMarkers")


def _discover(package: str) -> list[str]:
    pkg = importlib.import_module(package)
    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))


def _without_nulls(value: Any) -> Any:
    """Grafana reads a missing key as null; grafanalib writes dozens of explicit nulls."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _modern_target(target: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in target.items() if k not in _LEGACY_TARGET_KEYS}
    # Grafana 10+ reads range and instant separately, and opens the code editor only when told.
    out["range"] = not out.get("instant", False)
    out["editorMode"] = "code"
    return out


def _modern_panel(panel: dict[str, Any]) -> dict[str, Any]:
    if panel.get("type") == "row":
        row = {k: v for k, v in panel.items() if k in _ROW_KEYS}
        row["panels"] = [_modern_panel(p) for p in row.get("panels", [])]
        return row
    out = {k: v for k, v in panel.items() if k not in _LEGACY_PANEL_KEYS}
    out["targets"] = [_modern_target(t) for t in out.get("targets", [])]
    field_config = out.setdefault("fieldConfig", {})
    defaults = field_config.setdefault("defaults", {})
    steps = defaults.get("thresholds", {}).get("steps")
    if steps:
        # Grafana stores the base step as value null (-Infinity).
        steps[0]["value"] = None
    if out.get("type") in ("gauge", "bargauge"):
        for key in _LEGACY_GAUGE_DEFAULTS:
            defaults.pop(key, None)
        for key in _LEGACY_GAUGE_FIELD_CONFIG:
            field_config.pop(key, None)
        options = out.get("options", {})
        options.pop("fieldOptions", None)
        if out["type"] == "bargauge":
            for key in _LEGACY_GAUGE_FIELD_CONFIG:
                options.pop(key, None)
    return out


def _modern_variable(variable: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in variable.items() if k not in ("useTags", "tagsQuery", "tagValuesQuery")}
    if out.get("type") != "interval":
        for key in ("auto", "auto_min", "auto_count"):
            out.pop(key, None)
    current = out.get("current")
    if isinstance(current, dict):
        current.pop("tags", None)
        if "value" not in current:  # nothing chosen: Grafana picks the first value on load
            out.pop("current")
    return out


def compile_dashboard(name: str, dashboard: g.Dashboard) -> dict[str, Any]:
    """The Grafana 11.2 JSON of one dashboard module, before the lint."""
    uid = dashboard_uid(name)
    if dashboard.uid not in (None, uid):
        raise ValueError(f"uid is derived from the module name ({uid}); do not set it")
    final = attr.evolve(
        dashboard, uid=uid, schemaVersion=config.GRAFANA_SCHEMA_VERSION
    ).auto_panel_ids()
    data: dict[str, Any] = _without_nulls(
        json.loads(json.dumps(final.to_json_data(), cls=DashboardEncoder))
    )
    for key in _LEGACY_DASHBOARD_KEYS:
        data.pop(key, None)
    data["panels"] = [_modern_panel(p) for p in data.get("panels", [])]
    templating = data.get("templating", {})
    templating["list"] = [_modern_variable(v) for v in templating.get("list", [])]
    return data


def build(package: str | None = None) -> dict[str, dict[str, Any]]:
    """Module name -> compiled dashboard JSON, for every module of the dashboards package."""
    package = package or PACKAGE
    built: dict[str, dict[str, Any]] = {}
    for name in _discover(package):
        try:
            module = importlib.import_module(f"{package}.{name}")
            dashboard = getattr(module, "dashboard", None)
            if not isinstance(dashboard, g.Dashboard):
                raise BuildError("must export `dashboard`, a grafanalib Dashboard")
            built[name] = compile_dashboard(name, dashboard)
        except Exception as exc:  # any error in a source is that source's build failure
            first_line = (str(exc).strip().splitlines() or [""])[0]
            kind = "" if isinstance(exc, BuildError) else f"{type(exc).__name__}: "
            raise BuildError(f"{package}.{name}: {kind}{first_line}") from exc
    return built


def dumps(data: Any) -> str:
    """Byte-stable JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _yaml(data: Any) -> str:
    header = "# Generated by `make generate` from bikewatch/dashboards.py: do not edit.\n"
    return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


def _dashboard_provider() -> str:
    return _yaml(
        {
            "apiVersion": 1,
            "providers": [
                {
                    "name": "bikewatch",
                    "orgId": 1,
                    "folder": GRAFANA_FOLDER,
                    "type": "file",
                    # Dashboards change only through the Python sources and `make generate`:
                    # UI saves are refused, and a deleted module's dashboard is deleted too.
                    "disableDeletion": False,
                    "allowUiUpdates": False,
                    "updateIntervalSeconds": 30,
                    "options": {
                        "path": MOUNTED_DASHBOARDS_DIR,
                        "foldersFromFilesStructure": False,
                    },
                }
            ],
        }
    )


def _datasources() -> str:
    return _yaml(
        {
            "apiVersion": 1,
            "datasources": [
                {
                    "name": "Prometheus",
                    "type": "prometheus",
                    "uid": config.PROMETHEUS_DATASOURCE_UID,
                    "access": "proxy",
                    "url": f"http://{COMPOSE.prometheus}",
                    "isDefault": True,
                    "editable": False,
                    "jsonData": {
                        # $__rate_interval is computed from the scrape interval Grafana is told.
                        "timeInterval": COMPOSE.scrape_interval,
                        "httpMethod": "POST",
                    },
                },
                {
                    "name": "Alertmanager",
                    "type": "alertmanager",
                    "uid": config.ALERTMANAGER_DATASOURCE_UID,
                    "access": "proxy",
                    "url": f"http://{COMPOSE.alertmanager}",
                    "editable": False,
                    "jsonData": {
                        "implementation": "prometheus",
                        # Grafana-managed alerts go to Grafana's own Alertmanager; this one shows
                        # the Prometheus alerts and silences.
                        "handleGrafanaManagedAlerts": False,
                    },
                },
            ],
        }
    )


def outputs() -> dict[str, str]:
    """{path relative to generated/: text}; BuildError on the first lint finding."""
    dashboards = build()
    findings = dashboard_lint.lint(dashboards)
    if findings:
        more = f" (+{len(findings) - 1} more: python -m bikewatch.dashboard_lint)"
        raise BuildError(f"{findings[0]}{more if len(findings) > 1 else ''}")
    files = {f"{DASHBOARDS_DIR}/{name}.json": dumps(data) for name, data in dashboards.items()}
    files["grafana/provisioning/dashboards/bikewatch.yaml"] = _dashboard_provider()
    files["grafana/provisioning/datasources/datasources.yaml"] = _datasources()
    return files
