"""A panel whose description was dropped after the helper built it."""

import attr

from api.metrics import MODEL_RMSE
from authoring import promql
from authoring.house_style import GrafanaUnit, Section, dashboard, query, stat

EXPECTED = ("description", "no description")

_panel = stat(
    "RMSE",
    "Will be removed.",
    query(promql.across_replicas(promql.sel(MODEL_RMSE))),
    unit=GrafanaUnit.NONE,
)

dashboard = dashboard(
    "Missing description",
    "Broken on purpose.",
    [Section("Model", [attr.evolve(_panel, description="")])],
)
