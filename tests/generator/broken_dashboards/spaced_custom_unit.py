"""A custom unit with a space after the colon: Grafana 11.2 draws it with two spaces."""

from api.metrics import MODEL_RMSE
from authoring import promql
from authoring.house_style import Section, dashboard, query, stat

EXPECTED = ("unit", "no space around the text")

dashboard = dashboard(
    "Spaced unit",
    "Broken on purpose.",
    [
        Section(
            "Model",
            [
                stat(
                    "RMSE",
                    "Error.",
                    query(promql.across_replicas(promql.sel(MODEL_RMSE))),
                    unit="suffix: rentals/h",
                )
            ],
        )
    ],
)
