"""A panel without a unit."""

from api.metrics import MODEL_RMSE
from bikewatch import promql
from bikewatch.grafana import Section, dashboard, query, stat

EXPECTED = ("unit", "no unit")

dashboard = dashboard(
    "Missing unit",
    "Broken on purpose.",
    [
        Section(
            "Model",
            [stat("RMSE", "Error of the latest evaluation.", "", query(promql.sel(MODEL_RMSE)))],
        )
    ],
)
