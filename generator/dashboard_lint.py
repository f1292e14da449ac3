"""Dashboard lint: every finding names its rule, dashboard, panel and reason.

Rules: PromQL parses and names only known series; rates use `$__rate_interval`; counters appear
only inside rate/irate/increase; queries of a replicated job are replica-safe (gauges and rates
aggregated over replicas, `sum by (le)` before `histogram_quantile`); every panel has a title,
description and unit (a custom unit in Grafana's `kind:text` form, without the space Grafana
adds itself); every query uses
the provisioned datasource uid; panel ids are assigned and unique; grid positions fit the 24
columns and never overlap; schemaVersion and uid are ours; and no key is unknown to Grafana: the
dashboard round-trips through grafana-foundation-sdk's typed model and nothing may be lost.

Usage: `python -m generator.dashboard_lint` (the sources) or `... FILE.json...` (built files).
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from authoring import config
from authoring.house_style import DATASOURCE, GRID_COLUMNS, dashboard_uid
from generator import promcheck
from generator.dashboard_json import compile_all
from generator.errors import BuildError
from generator.sources import Sources, discover

__all__ = ["Finding", "known_series", "lint", "lint_dashboard", "lost_keys", "main", "round_trip"]

DASHBOARD = "-"
# increase() over the whole picked range is a legitimate "how many in this window" total.
_ALLOWED_WINDOWS = {
    "rate": {"$__rate_interval"},
    "irate": {"$__rate_interval"},
    "increase": {"$__rate_interval", "$__range"},
}
# Grafana's custom unit formats (valueFormats.ts getValueFormat): `<kind>:<text>`.
_CUSTOM_UNIT_KINDS = frozenset({"prefix", "suffix", "si", "count", "currency", "time"})
# Grafana's Prometheus variable queries wrap a selector or an expression.
_VARIABLE_QUERY = re.compile(r"^\s*(label_values|query_result)\((?P<body>.*)\)\s*$", re.S)


@dataclass(frozen=True, order=True)
class Finding:
    """One problem: `rule: dashboard: panel: reason`."""

    rule: str
    dashboard: str
    panel: str
    reason: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.dashboard}: {self.panel}: {self.reason}"


def _panels(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in data.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def _label(panel: dict[str, Any]) -> str:
    return f"panel {panel.get('id', '?')} {panel.get('title', '')!r}"


def _check_expr(
    expr: str, known: set[str], counters: set[str], where: tuple[str, str]
) -> Iterator[Finding]:
    dashboard, panel = where
    problems = promcheck.check_expr(expr, known)
    for problem in problems:
        rule = "promql-parse" if not problem.startswith(("names", "__name__")) else "unknown-metric"
        yield Finding(rule, dashboard, panel, f"{problem}: {expr}")
    if problems:
        return
    for name in promcheck.misused_counters(expr, counters):
        yield Finding(
            "counter-raw", dashboard, panel, f"counter {name} outside rate/increase: {expr}"
        )
    for problem in promcheck.replica_problems(
        expr, promcheck.gauge_series(), counters, config.REPLICATED_JOBS
    ):
        yield Finding("replica-safety", dashboard, panel, f"{problem}: {expr}")
    for func, window in promcheck.range_windows(expr):
        allowed = _ALLOWED_WINDOWS.get(func)
        if allowed is not None and window not in allowed:
            yield Finding(
                "rate-interval",
                dashboard,
                panel,
                f"{func}() over {window}, use {' or '.join(sorted(allowed))}: {expr}",
            )


def _check_queries(
    name: str, data: dict[str, Any], known: set[str], counters: set[str]
) -> Iterator[Finding]:
    for panel in _panels(data):
        where = (name, _label(panel))
        for target in panel.get("targets", []):
            expr = target.get("expr", "")
            if not expr:
                yield Finding("promql-parse", *where, f"query {target.get('refId')} is empty")
                continue
            yield from _check_expr(expr, known, counters, where)
    for variable in data.get("templating", {}).get("list", []):
        query = variable.get("query")
        if variable.get("type", "query") != "query" or not isinstance(query, str):
            continue
        match = _VARIABLE_QUERY.match(query)
        body = match.group("body") if match else query
        if match and match.group(1) == "label_values":
            body = body.rsplit(",", 1)[0] if "," in body else body
        where = (name, f"variable {variable.get('name')!r}")
        yield from _check_expr(body, known, set(), where)


def custom_unit_problems(unit: str) -> list[str]:
    """What is wrong with a custom unit (`suffix:rentals/h`): Grafana reads the kind before the
    colon and pads the text after it with its own space, so `suffix: x` draws two."""
    kind, colon, text = unit.partition(":")
    if not colon:
        return []
    if kind not in _CUSTOM_UNIT_KINDS:
        kinds = ", ".join(sorted(_CUSTOM_UNIT_KINDS))
        return [f"custom unit {unit!r}: {kind!r} is not one of Grafana's kinds ({kinds})"]
    if not text.strip():
        return [f"custom unit {unit!r} has no text after the colon"]
    if text != text.strip():
        return [f"custom unit {unit!r}: no space around the text (Grafana adds its own)"]
    return []


def _check_panels(name: str, data: dict[str, Any]) -> Iterator[Finding]:
    seen: dict[int, str] = {}
    for panel in _panels(data):
        label = _label(panel)
        pid = panel.get("id")
        if not isinstance(pid, int) or pid <= 0:
            yield Finding("panel-id", name, label, "id is not assigned")
        elif pid in seen:
            yield Finding("panel-id", name, label, f"id {pid} is also used by {seen[pid]}")
        else:
            seen[pid] = label
        if not panel.get("title"):
            yield Finding("title", name, label, "panel has no title")
        if panel.get("type") == "row":
            continue
        if not panel.get("description"):
            yield Finding("description", name, label, "panel has no description")
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit")
        if not unit:
            yield Finding("unit", name, label, "panel has no unit (fieldConfig.defaults.unit)")
        else:
            yield from (Finding("unit", name, label, p) for p in custom_unit_problems(unit))
        if panel.get("datasource") != DATASOURCE:
            yield Finding(
                "datasource", name, label, f"datasource {panel.get('datasource')} != {DATASOURCE}"
            )
        for target in panel.get("targets", []):
            if target.get("datasource", DATASOURCE) != DATASOURCE:
                yield Finding(
                    "datasource",
                    name,
                    label,
                    f"query {target.get('refId')} datasource {target['datasource']}",
                )
    for variable in data.get("templating", {}).get("list", []):
        if variable.get("type", "query") == "query" and variable.get("datasource") != DATASOURCE:
            yield Finding(
                "datasource",
                name,
                f"variable {variable.get('name')!r}",
                f"datasource {variable.get('datasource')} != {DATASOURCE}",
            )


def _check_grid(name: str, data: dict[str, Any]) -> Iterator[Finding]:
    boxes: list[tuple[str, int, int, int, int]] = []
    for panel in data.get("panels", []):
        label = _label(panel)
        pos = panel.get("gridPos")
        if not isinstance(pos, dict) or not all(isinstance(pos.get(k), int) for k in "xywh"):
            yield Finding("grid", name, label, "gridPos missing or not integers")
            continue
        x, y, w, h = pos["x"], pos["y"], pos["w"], pos["h"]
        if x < 0 or y < 0 or w < 1 or h < 1 or x + w > GRID_COLUMNS:
            yield Finding("grid", name, label, f"gridPos {pos} is outside the 24-column grid")
            continue
        for other, ox, oy, ow, oh in boxes:
            if x < ox + ow and ox < x + w and y < oy + oh and oy < y + h:
                yield Finding("grid", name, label, f"gridPos {pos} overlaps {other}")
        boxes.append((label, x, y, w, h))


def _check_identity(name: str, data: dict[str, Any]) -> Iterator[Finding]:
    if data.get("schemaVersion") != config.GRAFANA_SCHEMA_VERSION:
        yield Finding(
            "schema-version",
            name,
            DASHBOARD,
            f"schemaVersion {data.get('schemaVersion')} != {config.GRAFANA_SCHEMA_VERSION}",
        )
    if data.get("uid") != dashboard_uid(name):
        yield Finding("uid", name, DASHBOARD, f"uid {data.get('uid')} != {dashboard_uid(name)}")
    if not data.get("title"):
        yield Finding("title", name, DASHBOARD, "dashboard has no title")


def round_trip(data: dict[str, Any]) -> dict[str, Any]:
    """`data` decoded by grafana-foundation-sdk's typed Dashboard and encoded back to JSON."""
    from grafana_foundation_sdk.cog import runtime
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models import prometheus
    from grafana_foundation_sdk.models.dashboard import Dashboard

    # The typed Prometheus query model, and the options model of each panel type used (what
    # cog.plugins.register_default_plugins does for all 40 plugins, at a third of the import
    # cost). Registration is idempotent.
    runtime.register_dataquery_variant(prometheus.variant_config())
    for panel_type in sorted({p.get("type", "") for p in _panels(data)} - {"row", ""}):
        try:
            plugin = importlib.import_module(
                f"grafana_foundation_sdk.models.{panel_type.replace('-', '')}"
            )
        except ModuleNotFoundError:
            continue  # not a core panel: its options stay untyped, as with the default plugins
        variant = getattr(plugin, "variant_config", lambda: None)()
        if isinstance(variant, runtime.PanelCfgConfig):
            runtime.register_panelcfg_variant(variant)
    typed = Dashboard.from_json(json.loads(json.dumps(data)))
    result: dict[str, Any] = json.loads(json.dumps(typed, cls=JSONEncoder))
    return result


def lost_keys(before: Any, after: Any, path: str = "") -> Iterator[str]:
    """Every key of `before` missing from `after`, and every value that changed, by path."""
    if isinstance(before, dict):
        if not isinstance(after, dict):
            yield f"{path} became {type(after).__name__}"
            return
        for key, value in before.items():
            sub = f"{path}.{key}" if path else key
            if key not in after:
                yield f"{sub} is unknown to Grafana's model (dropped)"
            else:
                yield from lost_keys(value, after[key], sub)
    elif isinstance(before, list):
        if not isinstance(after, list) or len(before) != len(after):
            yield f"{path} changed shape"
            return
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            yield from lost_keys(b, a, f"{path}[{i}]")
    elif before != after:
        yield f"{path} changed from {before!r} to {after!r}"


def _check_round_trip(name: str, data: dict[str, Any]) -> Iterator[Finding]:
    try:
        after = round_trip(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        yield Finding("unknown-key", name, DASHBOARD, f"typed model cannot decode it: {exc!r}")
        return
    for key, value in data.items():
        if key == "panels" and isinstance(after.get(key), list) and len(value) == len(after[key]):
            for panel, typed in zip(value, after[key], strict=True):
                for lost in lost_keys(panel, typed, ""):
                    yield Finding("unknown-key", name, _label(panel), lost)
        elif key not in after:
            yield Finding("unknown-key", name, DASHBOARD, f"{key} is unknown to Grafana's model")
        else:
            for lost in lost_keys(value, after[key], key):
                yield Finding("unknown-key", name, DASHBOARD, lost)


def known_series(sources: Sources) -> set[str]:
    """Every series the dashboards may select: the catalog and the rules' recorded series."""
    return promcheck.known_series(r.record for g in sources.groups for r in g.records)


def lint_dashboard(
    name: str, data: dict[str, Any], known: set[str], counters: set[str] | None = None
) -> list[Finding]:
    """Findings for one compiled dashboard (`name` is its module name); `known` is every series
    it may select (the catalog and the recording rules)."""
    counters = promcheck.counter_series() if counters is None else counters
    return [
        *_check_identity(name, data),
        *_check_panels(name, data),
        *_check_grid(name, data),
        *_check_queries(name, data, known, counters),
        *_check_round_trip(name, data),
    ]


def lint(dashboards: dict[str, dict[str, Any]], known: set[str]) -> list[Finding]:
    """Findings for every dashboard, in a stable order."""
    counters = promcheck.counter_series()
    return [
        finding
        for name in sorted(dashboards)
        for finding in lint_dashboard(name, dashboards[name], known, counters)
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m generator.dashboard_lint", description=__doc__.splitlines()[0]
    )
    parser.add_argument("files", nargs="*", type=Path, help="built dashboard JSON files")
    args = parser.parse_args(argv)
    try:
        sources = discover()
        if args.files:
            dashboards = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in args.files}
        else:
            dashboards = compile_all(sources.dashboards, sources.origins)
    except BuildError as exc:
        print(f"dashboard lint: error: {exc}", file=sys.stderr)
        return 2
    findings = lint(dashboards, known_series(sources))
    for finding in findings:
        print(finding)
    print(f"{len(dashboards)} dashboards, {len(findings)} findings", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
