"""Compiles the grafanalib dashboards of `dashboards_py/` into Grafana 11.2 JSON.

A dashboard's module name is its file name (`api_performance` ->
`grafana/dashboards/api_performance.json`) and its uid. grafanalib 0.7.1 gaps are fixed here,
once, after rendering: schemaVersion, uid, panel ids, and the keys it still writes in
pre-Grafana-8 shapes. The dashboard lint then gates the output (see `generator.generate`).
"""

from __future__ import annotations

import json
from typing import Any

import attr
from grafanalib import core as g
from grafanalib._gen import DashboardEncoder

from authoring import config
from authoring.house_style import dashboard_uid
from generator.errors import BuildError

__all__ = ["DASHBOARDS_DIR", "compile_all", "compile_dashboard", "dumps"]

DASHBOARDS_DIR = "grafana/dashboards"

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


def compile_all(
    dashboards: dict[str, g.Dashboard], origin: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Module name -> compiled dashboard JSON; a failure names the dashboard's source file."""
    built: dict[str, dict[str, Any]] = {}
    for name, dashboard in dashboards.items():
        try:
            built[name] = compile_dashboard(name, dashboard)
        except Exception as exc:  # any error in a source is that source's build failure
            first_line = (str(exc).strip().splitlines() or [""])[0]
            raise BuildError(
                f"{origin.get(name, name)}: {type(exc).__name__}: {first_line}"
            ) from exc
    return built


def dumps(data: Any) -> str:
    """Byte-stable JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
