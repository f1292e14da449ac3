"""Two panels given the same id by hand."""

import attr

from api.metrics import MODEL_MAE, MODEL_RMSE
from authoring import promql
from authoring.house_style import GrafanaUnit, Section, dashboard, query, stat

EXPECTED = ("panel-id", "id 7 is also used")

dashboard = dashboard(
    "Duplicate id",
    "Broken on purpose.",
    [
        Section(
            "Model",
            [
                attr.evolve(
                    stat(
                        "RMSE",
                        "Error.",
                        query(promql.across_replicas(promql.sel(MODEL_RMSE))),
                        unit=GrafanaUnit.NONE,
                    ),
                    id=7,
                ),
                attr.evolve(
                    stat(
                        "MAE",
                        "Error.",
                        query(promql.across_replicas(promql.sel(MODEL_MAE))),
                        unit=GrafanaUnit.NONE,
                    ),
                    id=7,
                ),
            ],
        )
    ],
)
