"""A panel whose description was dropped after the helper built it."""

import attr

from api.metrics import MODEL_RMSE
from bikewatch import promql
from bikewatch.grafana import Section, Unit, dashboard, query, stat

EXPECTED = ("description", "no description")

_panel = stat("RMSE", "Will be removed.", Unit.NONE, query(promql.sel(MODEL_RMSE)))

dashboard = dashboard(
    "Missing description",
    "Broken on purpose.",
    [Section("Model", [attr.evolve(_panel, description="")])],
)
