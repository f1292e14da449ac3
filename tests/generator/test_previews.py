"""Layout previews: one well-formed, deterministic SVG per dashboard, naming every panel."""

from __future__ import annotations

import json
import random
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from generator import previews as preview

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def dashboards(generated_files: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Dashboard JSON by module name, as generated."""
    return {
        path.rsplit("/", 1)[1].removesuffix(".json"): json.loads(text)
        for path, text in generated_files.items()
        if path.startswith("grafana/dashboards/")
    }


@pytest.fixture(scope="module")
def sources(dashboards: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Dashboard JSON by preview path."""
    return {f"previews/{name}.svg": data for name, data in dashboards.items()}


@pytest.fixture(scope="module")
def previews(generated_files: dict[str, str]) -> dict[str, str]:
    return {p: t for p, t in generated_files.items() if p.startswith(preview.PREVIEWS_DIR + "/")}


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found += panel.get("panels") or []
    return found


def test_every_dashboard_has_a_preview_in_generated(
    sources: dict[str, dict[str, Any]], previews: dict[str, str]
) -> None:
    assert sources, "no dashboards to preview"
    assert sorted(previews) == sorted(sources)


def test_svg_is_well_formed_and_names_every_panel_its_type_and_unit(
    sources: dict[str, dict[str, Any]], previews: dict[str, str]
) -> None:
    for path, dashboard in sources.items():
        texts = "\n".join(_texts(previews[path]))
        assert dashboard["title"] in texts
        for panel in _panels(dashboard):
            assert panel["title"] in texts, (path, panel["title"])
            unit = (panel.get("fieldConfig") or {}).get("defaults", {}).get("unit")
            if panel["type"] != "row":
                assert (f"{panel['type']} · {unit}" if unit else panel["type"]) in texts


def test_preview_is_deterministic_and_blind_to_panel_order(
    sources: dict[str, dict[str, Any]],
    previews: dict[str, str],
    dashboards: dict[str, dict[str, Any]],
) -> None:
    assert preview.outputs(dashboards) == previews
    for path, dashboard in sources.items():
        shuffled = json.loads(json.dumps(dashboard))
        random.Random(3).shuffle(shuffled["panels"])
        assert preview.render_svg(shuffled) == previews[path]


def test_panels_are_drawn_at_their_grid_position_and_text_is_escaped() -> None:
    title = 'p95 <latency> & "errors"'
    dashboard = {
        "title": "T & <u>",
        "panels": [
            {"type": "row", "title": "Row <1>", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}},
            {
                "type": "stat",
                "title": title,
                "gridPos": {"x": 12, "y": 1, "w": 12, "h": 8},
                "fieldConfig": {"defaults": {"unit": "s"}},
            },
        ],
    }
    svg = preview.render_svg(dashboard)
    texts = _texts(svg)
    assert {"T & <u>", "▾ Row <1>", title, "stat · s"} <= set(texts)
    root = ET.fromstring(svg)
    boxes = [r.attrib for r in root.iter(f"{SVG}rect") if r.get("stroke")]
    gap, col, unit = preview.GAP_PX, preview.COLUMN_PX, preview.UNIT_PX
    assert boxes == [
        {
            "x": str(preview.MARGIN_PX + 12 * col + gap),
            "y": str(preview.HEADER_PX + 1 * unit + gap),
            "width": str(12 * col - 2 * gap),
            "height": str(8 * unit - 2 * gap),
            "rx": "3",
            "fill": preview.FILLS["stat"],
            "stroke": "#64748b",
        }
    ]


def test_a_collapsed_row_lists_its_hidden_panels() -> None:
    dashboard = {
        "title": "T",
        "panels": [
            {
                "type": "row",
                "title": "Host",
                "collapsed": True,
                "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1},
                "panels": [{"type": "timeseries", "title": "CPU", "gridPos": {"y": 1}}],
            }
        ],
    }
    assert "▸ Host (collapsed: CPU)" in _texts(preview.render_svg(dashboard))
