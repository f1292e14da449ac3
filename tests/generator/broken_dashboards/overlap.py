"""Two panels placed on the same grid cells, bypassing `layout`."""

import attr
from grafanalib import core as g

from api.metrics import API_ACTIVE_REQUESTS
from authoring import promql
from authoring.house_style import GrafanaUnit, dashboard, query, stat

EXPECTED = ("grid", "overlaps")

_panel = stat(
    "Active requests",
    "In flight.",
    query(promql.sum_by(promql.sel(API_ACTIVE_REQUESTS))),
    unit=GrafanaUnit.COUNT,
)

dashboard = attr.evolve(
    dashboard("Overlap", "Broken on purpose.", []),
    panels=[
        attr.evolve(_panel, gridPos=g.GridPos(h=4, w=12, x=0, y=0)),
        attr.evolve(_panel, title="Again", gridPos=g.GridPos(h=4, w=12, x=6, y=2)),
    ],
)
