"""Two panels given the same id by hand."""

import attr

from api.metrics import MODEL_MAE, MODEL_RMSE
from bikewatch import promql
from bikewatch.grafana import Section, Unit, dashboard, query, stat

EXPECTED = ("panel-id", "id 7 is also used")

dashboard = dashboard(
    "Duplicate id",
    "Broken on purpose.",
    [
        Section(
            "Model",
            [
                attr.evolve(stat("RMSE", "Error.", Unit.NONE, query(promql.sel(MODEL_RMSE))), id=7),
                attr.evolve(stat("MAE", "Error.", Unit.NONE, query(promql.sel(MODEL_MAE))), id=7),
            ],
        )
    ],
)
