"""A counter graphed raw: its value only says how long the process has lived."""

from api.metrics import API_REQUESTS
from authoring import promql
from authoring.house_style import GrafanaUnit, Section, dashboard, query, timeseries

EXPECTED = ("counter-raw", f"counter {API_REQUESTS.name} outside rate/increase")

dashboard = dashboard(
    "Counter without rate",
    "Broken on purpose.",
    [
        Section(
            "Traffic",
            [
                timeseries(
                    "Requests",
                    "Raw counter.",
                    query(promql.sum_by(promql.sel(API_REQUESTS, job="bike-api"))),
                    unit=GrafanaUnit.COUNT,
                )
            ],
        )
    ],
)
