"""Layout previews: each generated dashboard drawn as an SVG of its rows and panel boxes.

A layout change shows up in review as an image next to the JSON, without a running Grafana.
The drawing is pure integer geometry on Grafana's grid (24 columns, rows of `h` units), and
all text comes from the dashboard, so two builds write the same bytes.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape, quoteattr

__all__ = ["PREVIEWS_DIR", "outputs", "render_svg"]

PREVIEWS_DIR = "previews"
COLUMNS = 24  # Grafana's grid width
COLUMN_PX = 40
UNIT_PX = 30  # Grafana draws one gridPos height unit as 30 px
MARGIN_PX = 16
HEADER_PX = 56
GAP_PX = 3  # half the gutter between two boxes
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
# One fill per visualisation, so a type change reads as a colour change in the image.
FILLS = {
    "timeseries": "#dbeafe",
    "stat": "#dcfce7",
    "gauge": "#fef3c7",
    "bargauge": "#fde68a",
    "table": "#f3f4f6",
    "text": "#f5f5f4",
    "heatmap": "#fee2e2",
    "histogram": "#ede9fe",
    "piechart": "#fce7f3",
    "state-timeline": "#e0f2fe",
}
DEFAULT_FILL = "#f1f5f9"
ROW_FILL = "#e2e8f0"


def _grid(panel: dict[str, Any]) -> tuple[int, int, int, int]:
    grid = panel.get("gridPos") or {}
    return (
        int(grid.get("x", 0)),
        int(grid.get("y", 0)),
        int(grid.get("w", COLUMNS)),
        int(grid.get("h", 1)),
    )


def _text(x: int, y: int, content: str, size: int, **attrs: str) -> str:
    extra = "".join(f" {k.replace('_', '-')}={quoteattr(v)}" for k, v in sorted(attrs.items()))
    return f'<text x="{x}" y="{y}" font-size="{size}"{extra}>{escape(content)}</text>'


def _row(panel: dict[str, Any], top: int) -> list[str]:
    _, y, _, _ = _grid(panel)
    py = top + y * UNIT_PX
    title = str(panel.get("title") or "(untitled row)")
    label = f"▾ {title}"
    if panel.get("collapsed"):
        hidden = [str(p.get("title") or "(untitled)") for p in panel.get("panels") or []]
        label = f"▸ {title} (collapsed: {', '.join(hidden) or 'empty'})"
    width = COLUMNS * COLUMN_PX
    return [
        f'<rect x="{MARGIN_PX}" y="{py + GAP_PX}" width="{width}" height="{UNIT_PX - 2 * GAP_PX}"'
        f' rx="2" fill="{ROW_FILL}"/>',
        _text(MARGIN_PX + 8, py + UNIT_PX // 2 + 5, label, 13, font_weight="bold"),
    ]


def _panel(panel: dict[str, Any], top: int, index: int) -> list[str]:
    x, y, w, h = _grid(panel)
    px, py = MARGIN_PX + x * COLUMN_PX + GAP_PX, top + y * UNIT_PX + GAP_PX
    width, height = w * COLUMN_PX - 2 * GAP_PX, h * UNIT_PX - 2 * GAP_PX
    kind = str(panel.get("type") or "panel")
    defaults = (panel.get("fieldConfig") or {}).get("defaults") or {}
    details = kind + (f" · {defaults['unit']}" if defaults.get("unit") else "")
    clip = f"clip-{index}"
    return [
        f'<clipPath id="{clip}"><rect x="{px}" y="{py}" width="{width}" height="{height}"/>'
        "</clipPath>",
        f'<rect x="{px}" y="{py}" width="{width}" height="{height}" rx="3"'
        f' fill="{FILLS.get(kind, DEFAULT_FILL)}" stroke="#64748b"/>',
        f'<g clip-path="url(#{clip})">',
        _text(px + 8, py + 18, str(panel.get("title") or "(untitled)"), 12, font_weight="bold"),
        _text(px + 8, py + 34, details, 11, fill="#475569"),
        "</g>",
    ]


def render_svg(dashboard: dict[str, Any]) -> str:
    """The layout of one dashboard (Grafana JSON) as SVG text."""
    top_level = [p for p in dashboard.get("panels") or [] if isinstance(p, dict)]
    # Reading order; the title only breaks ties, so array order never changes the bytes.
    top_level.sort(
        key=lambda p: (_grid(p)[1], _grid(p)[0], str(p.get("title")), str(p.get("type")))
    )
    bottom = max((_grid(p)[1] + _grid(p)[3] for p in top_level), default=0)
    width = COLUMNS * COLUMN_PX + 2 * MARGIN_PX
    height = HEADER_PX + bottom * UNIT_PX + MARGIN_PX
    title = str(dashboard.get("title") or "(untitled dashboard)")
    # Only what Grafana shows above the panels; settings (refresh, time) are the diff's business.
    variables = [str(v.get("name")) for v in (dashboard.get("templating") or {}).get("list") or []]
    lines = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" font-family={quoteattr(FONT)}>',
        f"<title>{escape(title)} (layout preview)</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        _text(MARGIN_PX, 26, title, 18, font_weight="bold"),
    ]
    if variables:
        facts = "variables: " + ", ".join(f"${name}" for name in variables)
        lines.append(_text(MARGIN_PX, 45, facts, 11, fill="#475569"))
    for index, panel in enumerate(top_level):
        if panel.get("type") == "row":
            lines += _row(panel, HEADER_PX)
        else:
            lines += _panel(panel, HEADER_PX, index)
    lines.append("</svg>")
    return "\n".join(lines) + "\n"


def outputs(dashboards: dict[str, dict[str, Any]]) -> dict[str, str]:
    """`previews/<dashboard>.svg` for every compiled dashboard (module name -> JSON)."""
    return {
        f"{PREVIEWS_DIR}/{name}.svg": render_svg(data) for name, data in sorted(dashboards.items())
    }
