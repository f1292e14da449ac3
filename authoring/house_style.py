"""House style over grafanalib: panels, units, thresholds, layout; a dashboard reads as intent.

Every panel helper takes a title, a description and a unit (the lint refuses panels without
them), queries the provisioned Prometheus datasource by its fixed uid, and carries its size; the
`layout` helper places panels on Grafana's 24-column grid, row by row, so positions never
overlap. A panel's unit comes from the metric catalog when its queries say what they measure
(`promql.sel` of a gauge, a histogram quantile, an age); otherwise `unit=` names it. What
grafanalib 0.7.1 writes in pre-Grafana-8 shapes is fixed after rendering, by the build.

Example:
    >>> from api.metrics import API_REQUESTS
    >>> from authoring import promql
    >>> panel = timeseries(
    ...     "Request rate", "Requests per second.",
    ...     query(promql.rate(API_REQUESTS, by=("endpoint",)), "{{endpoint}}"),
    ...     unit=GrafanaUnit.REQUESTS_PER_SECOND,
    ... )
    >>> d = dashboard("Demo", "A demo.", [Section("Traffic", [panel])])
    >>> [p.gridPos.to_json_data() for p in d.panels]
    [{'h': 1, 'w': 24, 'x': 0, 'y': 0}, {'h': 8, 'w': 12, 'x': 0, 'y': 1}]
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import attr
from grafanalib import core as g

from authoring import config
from authoring.promql import Expr

__all__ = [
    "DATASOURCE",
    "GRAFANA_UNITS",
    "GRID_COLUMNS",
    "WHOLE_RANGE",
    "GrafanaUnit",
    "Section",
    "above",
    "bar_gauge",
    "below",
    "dashboard",
    "dashboard_uid",
    "gauge",
    "layout",
    "query",
    "query_variable",
    "stat",
    "timeseries",
    "value_text",
]

# Grafana's window for "over the whole picked time range", e.g. increase(...[$__range]).
WHOLE_RANGE = "$__range"
# Grafana's grid is 24 columns wide; heights are in 30 px rows.
GRID_COLUMNS = 24
_ROW_HEIGHT = 1

# The provisioned datasource, by fixed uid (authoring.config): no dashboard depends on a name.
DATASOURCE: dict[str, str] = {"type": "prometheus", "uid": config.PROMETHEUS_DATASOURCE_UID}

_GREEN = "green"
_RED = "red"
# No limit to show: one base step, so values are drawn in a neutral colour.
_PLAIN: list[dict[str, Any]] = [{"color": _GREEN, "value": None}]
# Grafana refuses uids longer than 40 characters.
_MAX_UID = 40


class GrafanaUnit:
    """Grafana unit ids used by our panels (valueFormats/categories.ts in Grafana)."""

    REQUESTS_PER_SECOND = "reqps"
    OPS_PER_SECOND = "ops"
    SECONDS = "s"
    RATIO = "percentunit"  # 0-1 shown as %
    PERCENT = "percent"  # 0-100 shown as %
    BYTES = "bytes"
    BYTES_PER_SECOND = "Bps"
    COUNT = "short"
    NONE = "none"  # a dimensionless score (R2, load average, state)
    # Grafana puts the space before a custom suffix itself.
    RENTALS_PER_HOUR = "suffix:rentals/h"
    TIMESTAMP = "dateTimeAsIso"


# The catalog's units (api.metrics.Unit) as Grafana shows them.
GRAFANA_UNITS: dict[str, str] = {
    "seconds": GrafanaUnit.SECONDS,
    "timestamp_seconds": GrafanaUnit.TIMESTAMP,
    "ratio": GrafanaUnit.RATIO,
    "percent": GrafanaUnit.PERCENT,
    "rentals": GrafanaUnit.RENTALS_PER_HOUR,
    "requests": GrafanaUnit.COUNT,
    "events": GrafanaUnit.COUNT,
    "rows": GrafanaUnit.COUNT,
    "triggers": GrafanaUnit.COUNT,
    "bytes": GrafanaUnit.BYTES,
    "score": GrafanaUnit.NONE,
    "boolean": GrafanaUnit.NONE,
    "info": GrafanaUnit.NONE,
    "version": GrafanaUnit.NONE,
    "cpu_seconds": GrafanaUnit.SECONDS,
    "per_second": GrafanaUnit.OPS_PER_SECOND,
}


def dashboard_uid(module_name: str) -> str:
    """The stable uid of the dashboard built by `dashboards_py/<module_name>.py`."""
    uid = "bikewatch-" + module_name.replace("_", "-")
    if len(uid) > _MAX_UID:
        raise ValueError(f"uid {uid!r} is longer than {_MAX_UID} characters: shorten the module")
    return uid


@dataclass(frozen=True)
class Section:
    """A titled row of panels; `layout` packs its panels left to right, wrapping at 24 columns."""

    title: str
    panels: Sequence[g.Panel] = field(default_factory=list)


def above(limit: float, base: str = _GREEN, over: str = _RED) -> list[dict[str, Any]]:
    """Thresholds for a value that is bad when high: `base` below `limit`, `over` from it."""
    return [{"color": base, "value": None}, {"color": over, "value": float(limit)}]


def below(limit: float) -> list[dict[str, Any]]:
    """Thresholds for a value that is bad when low: red below `limit`, green from it."""
    return above(limit, base=_RED, over=_GREEN)


def value_text(texts: dict[int, tuple[str, str]]) -> list[dict[str, Any]]:
    """Value mappings from an integer state to (text, color), e.g. {1: ("loaded", "green")}."""
    options = {
        str(value): {"text": text, "color": color, "index": i}
        for i, (value, (text, color)) in enumerate(sorted(texts.items()))
    }
    return [{"type": "value", "options": options}]


def query(expr: str, legend: str = "", *, instant: bool = False, heatmap: bool = False) -> g.Target:
    """One PromQL query on the provisioned datasource; `legend` is Grafana's legendFormat."""
    return g.Target(
        expr=expr,
        legendFormat=legend or "__auto",
        instant=instant,
        format="heatmap" if heatmap else "time_series",
        datasource=dict(DATASOURCE),
    )


def _targets(queries: Iterable[g.Target]) -> list[g.Target]:
    queries = list(queries)
    if len(queries) > len(string.ascii_uppercase):
        raise ValueError("a panel takes at most 26 queries")
    targets = [attr.evolve(q, refId=string.ascii_uppercase[i]) for i, q in enumerate(queries)]
    if not targets:
        raise ValueError("a panel needs at least one query")
    return targets


def _unit(title: str, queries: Sequence[g.Target], unit: str | None) -> str:
    """`unit` when given, else the catalog's unit of the queries (they must agree)."""
    if unit is not None:
        return unit
    units = {q.expr.unit if isinstance(q.expr, Expr) else None for q in queries}
    if len(units) != 1 or None in units:
        raise ValueError(
            f"panel {title!r}: its queries do not say what they measure ({sorted(map(str, units))})"
            "; give unit="
        )
    return GRAFANA_UNITS[str(units.pop())]


def _common(
    title: str, description: str, queries: Iterable[g.Target], width: int, height: int
) -> dict[str, Any]:
    if not title or not description:
        raise ValueError(f"panel {title!r}: title and description are required")
    if not 1 <= width <= GRID_COLUMNS:
        raise ValueError(f"panel {title!r}: width {width} is outside 1-{GRID_COLUMNS}")
    return {
        "title": title,
        "description": description,
        "dataSource": dict(DATASOURCE),
        "targets": _targets(queries),
        "gridPos": g.GridPos(h=height, w=width, x=0, y=0),
    }


def timeseries(
    title: str,
    description: str,
    *queries: g.Target,
    unit: str | None = None,
    width: int = 12,
    height: int = 8,
    thresholds: list[dict[str, Any]] | None = None,
    min_value: int | None = None,
    max_value: int | None = None,
    stacked: bool = False,
    bars: bool = False,
) -> g.TimeSeries:
    """A time series; thresholds, when given, are drawn as dashed lines (the alert limits)."""
    unit = _unit(title, queries, unit)
    return g.TimeSeries(
        **_common(title, description, queries, width, height),
        unit=unit,
        thresholds=thresholds or _PLAIN,
        thresholdsStyleMode="dashed" if thresholds else "off",
        valueMin=min_value,
        valueMax=max_value,
        stacking={"mode": "normal", "group": "A"} if stacked else {"mode": "none", "group": "A"},
        fillOpacity=20 if stacked or bars else 10,
        drawStyle="bars" if bars else "line",
        legendDisplayMode="table",
        legendCalcs=["lastNotNull", "max"],
        tooltipMode="multi",
        tooltipSort="desc",
    )


def stat(
    title: str,
    description: str,
    *queries: g.Target,
    unit: str | None = None,
    width: int = 6,
    height: int = 4,
    thresholds: list[dict[str, Any]] | None = None,
    mappings: list[dict[str, Any]] | None = None,
    sparkline: bool = True,
    decimals: int | None = None,
    show_name: bool = False,
) -> g.Stat:
    """The latest value, coloured by thresholds (green when none are given).

    `show_name` shows the series' legend instead of its value (labels-as-information series).
    """
    unit = _unit(title, queries, unit)
    return g.Stat(
        **_common(title, description, queries, width, height),
        format=unit,
        thresholds=thresholds or _PLAIN,
        mappings=mappings or [],
        color={"mode": "thresholds"},
        colorMode="background" if mappings else "value",
        graphMode="area" if sparkline else "none",
        reduceCalc="lastNotNull",
        decimals=decimals,
        noValue="no data",
        textMode="name" if show_name else "auto",
    )


def gauge(
    title: str,
    description: str,
    *queries: g.Target,
    unit: str | None = None,
    min_value: float,
    max_value: float,
    thresholds: list[dict[str, Any]],
    width: int = 6,
    height: int = 6,
) -> g.GaugePanel:
    """A dial between min and max, coloured by thresholds."""
    unit = _unit(title, queries, unit)
    return g.GaugePanel(
        **_common(title, description, queries, width, height),
        format=unit,
        min=min_value,
        max=max_value,
        thresholds=thresholds,
        extraJson={
            "options": {
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "showThresholdMarkers": True,
                "showThresholdLabels": False,
                "orientation": "auto",
            },
        },
    )


def bar_gauge(
    title: str,
    description: str,
    *queries: g.Target,
    unit: str | None = None,
    width: int = 12,
    height: int = 8,
    thresholds: list[dict[str, Any]] | None = None,
    vertical: bool = False,
) -> g.BarGauge:
    """One bar per series (or per histogram bucket, with a `heatmap` query), latest values."""
    unit = _unit(title, queries, unit)
    return g.BarGauge(
        **_common(title, description, queries, width, height),
        format=unit,
        orientation="vertical" if vertical else "horizontal",
        displayMode="gradient",
        thresholds=thresholds or _PLAIN,
        extraJson={
            "fieldConfig": {"defaults": {"unit": unit, "min": 0}},
            "options": {
                "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                "showUnfilled": True,
                "valueMode": "color",
                "namePlacement": "auto",
                "sizing": "auto",
            },
        },
    )


def event_annotation(name: str, expr: str) -> dict[str, Any]:
    """Grafana annotations (titled `name`) where a Prometheus query has a value (e.g.
    `changes(...) > 0`), drawn on every time series of the dashboard."""
    return {
        "name": name,
        "datasource": dict(DATASOURCE),
        "enable": True,
        "expr": expr,
        "iconColor": "purple",
    }


def external_link(title: str, url: str, tooltip: str) -> g.DashboardLink:
    """A link in the dashboard's header to another tool (opens in a new tab)."""
    return g.DashboardLink(
        title=title, uri=url, tooltip=tooltip, type="link", targetBlank=True, keepTime=False
    )


def query_variable(name: str, label: str, expr: str) -> g.Template:
    """A single-valued dashboard variable filled by a Grafana query (e.g. `label_values`)."""
    return g.Template(
        name=name,
        label=label,
        query=expr,
        dataSource=dict(DATASOURCE),
        refresh=2,  # on time-range change: instances come and go
        sort=1,
    )


def layout(sections: Iterable[Section]) -> list[g.Panel]:
    """Row panels and their panels with grid positions: rows stack, panels wrap at 24 columns."""
    placed: list[g.Panel] = []
    y = 0
    for section in sections:
        placed.append(
            g.RowPanel(
                title=section.title, gridPos=g.GridPos(h=_ROW_HEIGHT, w=GRID_COLUMNS, x=0, y=y)
            )
        )
        y += _ROW_HEIGHT
        x, line_height = 0, 0
        for panel in section.panels:
            w, h = panel.gridPos.w, panel.gridPos.h
            if x + w > GRID_COLUMNS:
                x, y, line_height = 0, y + line_height, 0
            placed.append(attr.evolve(panel, gridPos=g.GridPos(h=h, w=w, x=x, y=y)))
            x += w
            line_height = max(line_height, h)
        y += line_height
    return placed


def dashboard(
    title: str,
    description: str,
    sections: Iterable[Section],
    *,
    tags: Sequence[str] = (),
    variables: Sequence[g.Template] = (),
    annotations: Sequence[dict[str, Any]] = (),
    links: Sequence[g.DashboardLink] = (),
) -> g.Dashboard:
    """A dashboard in house style: laid-out sections, config's refresh and time range, UTC.

    The uid, schemaVersion and panel ids are set when compiling (the build's `dashboard_json`).
    """
    return g.Dashboard(
        title=title,
        description=description,
        panels=layout(sections),
        tags=["bikewatch", *tags],
        templating=g.Templating(list=list(variables)),
        annotations=g.Annotations(list=list(annotations)),
        links=list(links),
        refresh=config.DASHBOARD_REFRESH,
        time=g.Time(config.DASHBOARD_TIME_FROM, "now"),
        timezone="utc",
        # Provisioned from files, and the provider refuses UI saves: edit the Python instead.
        editable=False,
        graphTooltip=1,  # shared crosshair: compare latency, errors and load at one instant
    )
