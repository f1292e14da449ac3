"""The house-style layer: panel helpers refuse missing metadata, layout packs without overlap."""

from __future__ import annotations

from typing import Any

import pytest

from api.metrics import API_REQUEST_DURATION, API_REQUESTS, MODEL_R2, MODEL_RMSE
from authoring import config, promql
from authoring.house_style import (
    DATASOURCE,
    GRAFANA_UNITS,
    GRID_COLUMNS,
    GrafanaUnit,
    Section,
    above,
    below,
    dashboard,
    dashboard_uid,
    layout,
    query,
    stat,
    timeseries,
    value_text,
)


def _stat(title: str, width: int, height: int = 4) -> Any:
    return stat(title, "d", query(promql.sel(MODEL_RMSE)), width=width, height=height)


def _boxes(panels: list[Any]) -> list[tuple[str, int, int, int, int]]:
    return [(p.title, p.gridPos.x, p.gridPos.y, p.gridPos.w, p.gridPos.h) for p in panels]


def test_layout_places_rows_then_wraps_panels_at_24_columns() -> None:
    panels = layout(
        [
            Section("A", [_stat("a1", 12, 8), _stat("a2", 8), _stat("a3", 8, 6)]),
            Section("B", [_stat("b1", 24)]),
        ]
    )
    assert _boxes(panels) == [
        ("A", 0, 0, 24, 1),
        ("a1", 0, 1, 12, 8),
        ("a2", 12, 1, 8, 4),
        ("a3", 0, 9, 8, 6),  # 12 + 8 + 8 > 24: wraps below the tallest panel of the line
        ("B", 0, 15, 24, 1),
        ("b1", 0, 16, 24, 4),
    ]


def test_layout_never_overlaps() -> None:
    widths = [5, 7, 12, 3, 24, 9, 9, 6, 1, 23]
    sections = [
        Section(f"s{i}", [_stat(f"p{i}{j}", w, 2 + (i + j) % 5) for j, w in enumerate(widths)])
        for i in range(3)
    ]
    cells: set[tuple[int, int]] = set()
    for _, x, y, w, h in _boxes(layout(sections)):
        assert x + w <= GRID_COLUMNS
        mine = {(cx, cy) for cx in range(x, x + w) for cy in range(y, y + h)}
        assert not mine & cells
        cells |= mine


@pytest.mark.parametrize("width", [0, 25])
def test_width_outside_the_grid_is_refused(width: int) -> None:
    with pytest.raises(ValueError, match="width"):
        _stat("x", width)


def test_title_and_description_are_required() -> None:
    with pytest.raises(ValueError, match="description"):
        stat("t", "", query(promql.sel(MODEL_RMSE)))


def test_a_panel_needs_a_query() -> None:
    with pytest.raises(ValueError, match="query"):
        timeseries("t", "d", unit=GrafanaUnit.NONE)


def test_queries_get_ref_ids_and_the_provisioned_datasource() -> None:
    panel = timeseries(
        "t",
        "d",
        query(promql.rate(API_REQUESTS, by=())),
        query(promql.rate(API_REQUESTS, by=("endpoint",))),
        unit=GrafanaUnit.REQUESTS_PER_SECOND,
    )
    assert [t.refId for t in panel.targets] == ["A", "B"]
    assert all(t.datasource == DATASOURCE for t in panel.targets)
    assert panel.dataSource == DATASOURCE
    assert DATASOURCE["uid"] == config.PROMETHEUS_DATASOURCE_UID


def test_thresholds() -> None:
    assert above(5) == [{"color": "green", "value": None}, {"color": "red", "value": 5.0}]
    assert below(0.3) == [{"color": "red", "value": None}, {"color": "green", "value": 0.3}]


def test_value_text_maps_states() -> None:
    (mapping,) = value_text({1: ("up", "green"), 0: ("down", "red")})
    assert mapping["type"] == "value"
    assert mapping["options"]["0"] == {"text": "down", "color": "red", "index": 0}
    assert mapping["options"]["1"]["text"] == "up"


def test_dashboard_uid_is_derived_from_the_module_name() -> None:
    assert dashboard_uid("api_performance") == "bikewatch-api-performance"
    with pytest.raises(ValueError, match="40"):
        dashboard_uid("x" * 40)


def test_dashboard_applies_config_defaults() -> None:
    d = dashboard("T", "D", [Section("A", [_stat("a", 6)])])
    assert d.refresh == config.DASHBOARD_REFRESH
    assert d.time.start == config.DASHBOARD_TIME_FROM
    assert d.uid is None  # set when compiling, from the module name
    assert "bikewatch" in d.tags


def test_a_panel_takes_its_unit_from_the_catalog() -> None:
    """RMSE is in rentals (per hour); a p95 of a seconds histogram is in seconds."""
    assert stat("t", "d", query(promql.sel(MODEL_RMSE))).format == GRAFANA_UNITS["rentals"]
    latency = promql.histogram_quantile(0.95, API_REQUEST_DURATION)
    assert timeseries("t", "d", query(latency)).unit == GrafanaUnit.SECONDS
    # An explicit unit wins: an age shown as a duration, a rate shown per second.
    assert stat("t", "d", query(promql.sel(MODEL_RMSE)), unit="short").format == "short"


def test_a_panel_whose_queries_do_not_say_their_unit_needs_one() -> None:
    with pytest.raises(ValueError, match="give unit="):
        timeseries("t", "d", query(promql.rate(API_REQUESTS, by=())))
    with pytest.raises(ValueError, match="give unit="):  # two queries measuring different things
        stat("t", "d", query(promql.sel(MODEL_RMSE)), query(promql.sel(MODEL_R2)))
