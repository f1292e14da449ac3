"""A panel without a unit."""

from api.metrics import MODEL_RMSE
from authoring import promql
from authoring.house_style import Section, dashboard, query, stat

EXPECTED = ("unit", "no unit")

dashboard = dashboard(
    "Missing unit",
    "Broken on purpose.",
    [
        Section(
            "Model",
            [
                stat(
                    "RMSE",
                    "Error of the latest evaluation.",
                    query(promql.across_replicas(promql.sel(MODEL_RMSE))),
                    unit="",
                )
            ],
        )
    ],
)
