"""A gauge of the replicated API read as it is: one value per replica, three diverging lines."""

from api.metrics import MODEL_RMSE
from authoring import promql
from authoring.house_style import Section, dashboard, query, stat

EXPECTED = ("replica-safety", "gauge model_rmse_score read per replica")

dashboard = dashboard(
    "Gauge per replica",
    "Broken on purpose.",
    [
        Section(
            "Model",
            [
                stat(
                    "RMSE",
                    "Error of the latest evaluation.",
                    query(promql.sel(MODEL_RMSE, job="bike-api")),
                )
            ],
        )
    ],
)
